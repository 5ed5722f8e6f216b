/** The state machine as deployed: the ASL file with every placeholder filled, traced and logged safely. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { loadDefinition, PLACEHOLDER_PATTERN } from '../../../cdk/constructs/transcription-workflow.js';
import { STATE_MACHINE_DEFINITION } from '../../../cdk/paths.js';
import { readDefinitionFile, retryBudgetAfterDeadlineSeconds } from '../../../cdk/retry-budget.js';
import {
  type CfnTemplate,
  functionsByStep,
  logicalId,
  resourcesOfType,
  type Synthesized,
  synth,
} from '../synth.js';

const RETRY_BUDGET = retryBudgetAfterDeadlineSeconds(readDefinitionFile());

/** Version logical id → the step whose function it publishes. */
function versionsByStep(json: CfnTemplate): Record<string, string> {
  const steps = Object.fromEntries(Object.entries(functionsByStep(json)).map(([step, { id }]) => [id, step]));
  return Object.fromEntries(
    resourcesOfType(json, 'AWS::Lambda::Version').map(([id, r]) => [
      id,
      steps[(r.Properties.FunctionName as { Ref: string }).Ref] ?? 'unknown',
    ]),
  );
}

const ASL_TEXT = readFileSync(STATE_MACHINE_DEFINITION, 'utf8');

interface StateMachineProps {
  DefinitionString: string;
  DefinitionSubstitutions: Record<string, unknown>;
  StateMachineType: string;
  TracingConfiguration: unknown;
  LoggingConfiguration: { Level: string; IncludeExecutionData: boolean; Destinations: unknown[] };
}

describe('TranscriptionWorkflow', () => {
  let dev: Synthesized;
  let props: StateMachineProps;
  beforeAll(() => {
    dev = synth();
    props = (resourcesOfType(dev.json, 'AWS::StepFunctions::StateMachine')[0]?.[1].Properties ??
      {}) as unknown as StateMachineProps;
  });

  it('is a Standard state machine with X-Ray tracing', () => {
    expect(props.StateMachineType).toBe('STANDARD');
    expect(props.TracingConfiguration).toEqual({ Enabled: true });
  });

  it('logs errors only, without execution data, to a log group with retention', () => {
    const logGroupId = logicalId(dev.json, 'AWS::Logs::LogGroup', (r) =>
      String(r.Properties.LogGroupName).startsWith('/aws/vendedlogs/states/'),
    );

    expect(props.LoggingConfiguration).toEqual({
      Level: 'ERROR',
      IncludeExecutionData: false,
      Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logGroupId, 'Arn'] } } }],
    });
    expect(dev.json.Resources[logGroupId]?.Properties).toMatchObject({
      LogGroupName: '/aws/vendedlogs/states/wisevoice-transcription-dev',
      RetentionInDays: 30,
    });
  });

  it('inlines the definition, so this test can read it', () => {
    expect(typeof props.DefinitionString).toBe('string');
  });

  it('deploys the states of statemachine/transcription.asl.json unchanged', () => {
    const deployed = JSON.parse(props.DefinitionString);
    const source = JSON.parse(ASL_TEXT);

    expect(deployed.StartAt).toBe(source.StartAt);
    expect(deployed.States).toEqual(source.States);
  });

  it('substitutes every placeholder with a published version of a step function, and nothing else', () => {
    const placeholders = [...props.DefinitionString.matchAll(PLACEHOLDER_PATTERN)].map((m) => m[1] as string);
    const substitutions = props.DefinitionSubstitutions;
    const versions = versionsByStep(dev.json);

    expect(placeholders.length).toBeGreaterThanOrEqual(6);
    expect(new Set(placeholders)).toEqual(new Set(Object.keys(substitutions)));
    for (const value of Object.values(substitutions)) {
      // A Ref to an AWS::Lambda::Version is the version-qualified ARN (function:name:N).
      const id = (value as { Ref: string }).Ref;
      expect(Object.keys(versions)).toContain(id);
    }
    let resolved = props.DefinitionString;
    for (const name of Object.keys(substitutions))
      resolved = resolved.split(`\${${name}}`).join('arn:resolved');
    expect(resolved).not.toContain('${');
  });

  it('maps each placeholder to its own step', () => {
    const versions = versionsByStep(dev.json);
    const mapping = Object.fromEntries(
      Object.entries(props.DefinitionSubstitutions).map(([name, value]) => [
        name,
        versions[(value as { Ref: string }).Ref],
      ]),
    );

    expect(mapping).toEqual({
      ValidateAudioFunctionArn: 'validate-audio',
      SubmitTranscriptionFunctionArn: 'submit-transcription',
      CheckTranscriptFunctionArn: 'check-transcript',
      FormatSegmentsFunctionArn: 'format-segments',
      PersistResultFunctionArn: 'persist-result',
      RecordFailureFunctionArn: 'record-failure',
    });
  });

  it('publishes one version per step and keeps the old ones for executions still using them', () => {
    const versions = versionsByStep(dev.json);

    expect(Object.values(versions).sort()).toEqual(Object.keys(functionsByStep(dev.json)).sort());
    for (const id of Object.keys(versions)) {
      expect(dev.json.Resources[id]).toMatchObject({
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    }
  });

  it('publishes a new version when the code changes, so a deploy gives new executions a new definition', () => {
    const versionIds = (s: Synthesized) => Object.keys(versionsByStep(s.json)).sort();
    const other = synth({ assemblyaiTimeoutMs: '9000' });

    // The version's logical id hashes the function's code and configuration.
    expect(versionIds(other)).not.toEqual(versionIds(dev));
  });

  it('times out executions only after the poll deadline of the longest accepted audio and the retries after it', () => {
    const timeout = JSON.parse(props.DefinitionString).TimeoutSeconds as number;
    const longestDeadline = 900 + 0.5 * 36_000 + 120;

    expect(RETRY_BUDGET).toBeGreaterThan(5000);
    expect(timeout).toBe(longestDeadline + RETRY_BUDGET);
  });

  it('derives the execution timeout from the limits in context', () => {
    const custom = synth({
      maxAudioSeconds: '3600',
      pollDeadlineBaseSeconds: '600',
      pollDeadlinePerAudioSecond: '1',
    });
    const definition = (resourcesOfType(custom.json, 'AWS::StepFunctions::StateMachine')[0]?.[1].Properties
      .DefinitionString ?? '') as string;

    expect(JSON.parse(definition).TimeoutSeconds).toBe(600 + 3600 + 120 + RETRY_BUDGET);
  });
});

describe('loadDefinition', () => {
  function definitionFile(text: string): string {
    const path = join(mkdtempSync(join(tmpdir(), 'asl-')), 'definition.asl.json');
    writeFileSync(path, text);
    return path;
  }
  const placeholder = (name: string) => `\${${name}}`;
  const twoTasks = JSON.stringify({
    StartAt: 'A',
    States: {
      A: { Type: 'Task', Resource: placeholder('AFunctionArn'), Next: 'B' },
      B: { Type: 'Task', Resource: placeholder('BFunctionArn'), End: true },
    },
  });

  it('refuses a placeholder that no function fills', () => {
    expect(() => loadDefinition(definitionFile(twoTasks), ['AFunctionArn'], Duration.hours(1))).toThrow(
      /no function for \[BFunctionArn\]/,
    );
  });

  it('refuses a function that no placeholder uses', () => {
    expect(() =>
      loadDefinition(
        definitionFile(twoTasks),
        ['AFunctionArn', 'BFunctionArn', 'CFunctionArn'],
        Duration.hours(1),
      ),
    ).toThrow(/unused \[CFunctionArn\]/);
  });

  it('adds the execution timeout and keeps the states', () => {
    const loaded = JSON.parse(
      loadDefinition(definitionFile(twoTasks), ['AFunctionArn', 'BFunctionArn'], Duration.hours(2)),
    );

    expect(loaded.TimeoutSeconds).toBe(7200);
    expect(loaded.States).toEqual(JSON.parse(twoTasks).States);
  });
});
