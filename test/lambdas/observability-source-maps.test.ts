/**
 * Stack traces of the deployed bundles: Node does not load their source maps at start (issue 10:
 * `--enable-source-maps` cost every cold start 6–26 ms), so `defineStep` maps the stack of an
 * unexpected error through the bundle's map when it logs it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../../cdk/paths.js';
import { sourceMappedStack } from '../../lambdas/shared/observability.js';
import { bundle, IMPORT_NODE } from '../../scripts/bundle-report.js';

/** A step whose logic fails with an error of no TranscriptionError kind; the throw is on line 8. */
const FAILING_STEP = `import { createStepTools, defineStep } from '${PROJECT_ROOT}lambdas/shared/observability.ts';

const tools = createStepTools('format-segments');

function readSegments(input: unknown): never {
  const detail = typeof input;
  // the next line throws
  throw new TypeError(\`segments unreadable: \${detail}\`);
}

export const handler = defineStep(tools, () => ({}), async (event: unknown) => readSegments(event));
`;

describe('sourceMappedStack', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'source-maps-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('logs an unexpected error of a minified bundle with the TypeScript file and line', async () => {
    // Arrange: the step bundled as the construct bundles it, run without --enable-source-maps
    const entry = join(dir, 'failing-step.ts');
    writeFileSync(entry, FAILING_STEP);
    const file = join(dir, 'out', 'index.mjs');
    await bundle(entry, file, false);
    const script = `const { handler } = await import(${JSON.stringify(pathToFileURL(file).href)});
await handler({}, { functionName: 'f', awsRequestId: 'r', getRemainingTimeInMillis: () => 1000 }).catch(() => {});`;

    // Act
    const run = spawnSync(IMPORT_NODE, ['--input-type=module', '-e', script], {
      env: {
        PATH: process.env.PATH ?? '',
        AWS_REGION: 'eu-west-1',
        POWERTOOLS_TRACE_ENABLED: 'false',
        POWERTOOLS_METRICS_DISABLED: 'true',
      },
      encoding: 'utf8',
    });

    // Assert
    // The Logger writes ERROR lines to stderr.
    const line = `${run.stdout}\n${run.stderr}`
      .split('\n')
      .find((l) => l.includes('Step failed with an unexpected error'));
    const logged = JSON.parse(line ?? '{}') as { error?: { stack?: string; location?: string } };
    expect(logged.error?.stack).toMatch(/failing-step\.ts:8:\d+/);
    expect(logged.error?.stack).not.toContain('index.mjs');
    expect(logged.error?.location).toMatch(/failing-step\.ts:8$/);
  }, 30_000);

  it('leaves positions outside a mapped bundle as they are', () => {
    const stack = [
      'Error: boom',
      '    at f (file:///nowhere/index.mjs:1:2345)',
      '    at g (node:internal/modules/esm/module_job:561:25)',
      '    at /var/task/lambdas/shared/observability.ts:10:3',
    ].join('\n');

    expect(sourceMappedStack(stack)).toBe(stack);
  });
});
