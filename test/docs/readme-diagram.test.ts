/**
 * The README's Mermaid diagram must show exactly the states and transitions of
 * statemachine/transcription.asl.json, so it cannot drift from the definition.
 */
import { readFileSync } from 'node:fs';
import { readDefinition } from '../../local/workflow.js';

interface State {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: { Next: string }[];
  Catch?: { Next: string }[];
}

const END = '[*]';

function diagramOf(readme: string) {
  const block = /```mermaid\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const names = new Map<string, string>();
  const edges = new Set<string>();
  for (const line of block.split('\n').map((l) => l.trim())) {
    const edge = /^(\S+) --> (\S+?)(?::.*)?$/.exec(line);
    if (edge) edges.add(`${edge[1]} -> ${edge[2]}`);
    const label = /^(\w+): (.+)$/.exec(line);
    if (label?.[1] && label[2]) names.set(label[1], label[2]);
  }
  const named = (id: string) => (id === END ? END : (names.get(id) ?? `unnamed ${id}`));
  return {
    states: new Set(names.values()),
    transitions: new Set([...edges].map((e) => e.split(' -> ').map(named).join(' -> '))),
  };
}

function definitionGraph() {
  const definition = readDefinition() as unknown as { StartAt: string; States: Record<string, State> };
  const transitions = new Set<string>([`${END} -> ${definition.StartAt}`]);
  for (const [name, state] of Object.entries(definition.States)) {
    const targets = [
      state.Next,
      state.Default,
      ...(state.Choices ?? []).map((c) => c.Next),
      ...(state.Catch ?? []).map((c) => c.Next),
    ];
    for (const target of targets) if (target) transitions.add(`${name} -> ${target}`);
    if (state.Type === 'Succeed' || state.Type === 'Fail' || state.End) transitions.add(`${name} -> ${END}`);
  }
  return { states: new Set(Object.keys(definition.States)), transitions };
}

describe('the README state diagram', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf-8');
  const diagram = diagramOf(readme);
  const definition = definitionGraph();

  it('names every state of the definition and no other', () => {
    expect([...diagram.states].sort()).toEqual([...definition.states].sort());
  });

  it('draws every transition of the definition and no other', () => {
    expect([...diagram.transitions].sort()).toEqual([...definition.transitions].sort());
  });
});
