/**
 * Cold start of every Lambda bundle as CDK builds it: each entry is bundled with the construct's
 * own esbuild options (`ESM_BUNDLING` in cdk/constructs/transcription-function.ts, applied by
 * `bundle` in scripts/bundle-report.ts) into a temp dir, then imported by fresh Node 24 processes
 * with the deployed NODE_OPTIONS and Lambda's environment variables; the median import time of
 * each is set next to a baseline bundle, built the same way, that only constructs an S3 client.
 */
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BASELINE,
  bundle,
  bundleEntries,
  IMPORT_NODE,
  importEnv,
  measureInRounds,
  median,
} from '../bundle-report.js';

export { BASELINE };

export interface ColdStart {
  lambda: string;
  bundle_kb: number;
  init_ms_median: number;
  init_ms_p95: number;
  ratio_to_baseline: number;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

export async function measureColdStarts(processes: number): Promise<{ node: string; results: ColdStart[] }> {
  const directory = await mkdtemp(join(tmpdir(), 'transcription-bench-bundles-'));
  try {
    const targets = [];
    for (const { name, entry } of bundleEntries()) {
      const file = join(directory, name.replace(/\W+/g, '-'), 'index.mjs');
      await bundle(entry, file, false);
      targets.push({ name, file, env: importEnv(name) });
    }
    // In rounds, so that a slow moment of the machine hits every bundle alike.
    const measured = measureInRounds(targets, processes);
    const baseline = median(measured[0]?.samples ?? []);
    const results = measured.map(({ name, file, samples }) => ({
      lambda: name,
      bundle_kb: Math.round(statSync(file).size / 1024),
      init_ms_median: Number(median(samples).toFixed(1)),
      init_ms_p95: Number(quantile(samples, 0.95).toFixed(1)),
      ratio_to_baseline: Number((median(samples) / baseline).toFixed(2)),
    }));
    return { node: IMPORT_NODE, results };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
