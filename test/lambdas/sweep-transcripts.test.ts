/**
 * "Sweep transcripts" against the AssemblyAI emulator, through the real provider module: which jobs
 * it deletes (this bucket's input prefix, older than the bound, finished, not yet deleted), how it
 * pages, and where each per-run limit stops it. Ages are measured from an injected `now`, since the
 * emulator stamps jobs with the real clock.
 */
import {
  createAssemblyAIProvider,
  DELETED_AUDIO_URL,
  type TranscriptionProvider,
  type TranscriptLister,
} from '../../lambdas/shared/assemblyai.js';
import { DEFAULT_SPEECH_MODELS } from '../../lambdas/shared/assemblyai-catalog.js';
import {
  loadSweepSettings,
  type SweepDeps,
  type SweepSummary,
  sweepTranscripts,
} from '../../lambdas/sweep-transcripts/sweep-transcripts.js';
import {
  type AssemblyAIEmulator,
  type EmulatorOptions,
  startEmulator,
} from '../../local/assemblyai-emulator/emulator.js';
import { TEST_BUCKET, testConfig } from './step-fixtures.js';

const config = testConfig();
const HOUR = 3600_000;
const MIN_AGE_MS = 8 * HOUR;
const SIGNATURE =
  '?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAXXXXXXXX%2F20260301%2Feu-west-1%2Fs3%2Faws4_request' +
  '&X-Amz-Date=20260301T100000Z&X-Amz-Expires=3600&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE' +
  '&X-Amz-Signature=0123456789abcdef&X-Amz-SignedHeaders=host';

/** A presigned URL as Submit hands it to AssemblyAI: virtual-hosted on AWS, path-style locally. */
function virtualHosted(bucket: string, key: string): string {
  return `https://${bucket}.s3.eu-west-1.amazonaws.com/${key}${SIGNATURE}`;
}
function pathStyle(bucket: string, key: string): string {
  return `http://127.0.0.1:4569/${bucket}/${key}${SIGNATURE}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let emulator: AssemblyAIEmulator;
let provider: TranscriptionProvider & TranscriptLister;

/** A fresh emulator; audio is judged without downloading it (the URLs point nowhere real). */
async function start(options: EmulatorOptions = {}) {
  await emulator?.close();
  emulator = await startEmulator({
    processingDelayMs: 20,
    inspectAudio: async () => ({ ok: true, durationSeconds: 3, sha256: 'not-the-sample' }),
    ...options,
  });
  provider = createAssemblyAIProvider({
    apiKey: async () => emulator.apiKey,
    baseUrl: emulator.url,
    speechModels: [...DEFAULT_SPEECH_MODELS],
    languageDetection: config.assemblyai.languageDetection,
    timeoutMs: 2_000,
  });
}

/** Waits until every one of these jobs has finished (completed or error). */
async function waitFinished(ids: string[]): Promise<void> {
  for (const id of ids) {
    for (let attempt = 0; ; attempt++) {
      const { status } = await provider.get(id);
      if (status === 'completed' || status === 'error') break;
      if (attempt > 500) throw new Error(`job ${id} did not finish`);
      await sleep(10);
    }
  }
}

/** Submits one job per URL, oldest first, and waits until every one has finished. */
async function submitFinished(...urls: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const url of urls) ids.push((await provider.submit({ audioUrl: url })).id);
  await waitFinished(ids);
  return ids;
}

/** A point in time strictly after every job created so far and before every later one. */
async function boundary(): Promise<number> {
  await sleep(5);
  const at = Date.now();
  await sleep(5);
  return at;
}

async function isDeleted(id: string): Promise<boolean> {
  return (await provider.get(id)).audio_url === DELETED_AUDIO_URL;
}

async function deletedAmong(ids: string[]): Promise<string[]> {
  const flags = await Promise.all(ids.map(isDeleted));
  return ids.filter((_, i) => flags[i]).sort();
}

/** Runs the sweeper with jobs created before `cut` counting as older than the bound. */
function sweep(
  cut: number,
  overrides: Partial<Omit<SweepDeps, 'settings'>> & { settings?: Partial<SweepDeps['settings']> } = {},
) {
  const { settings, ...rest } = overrides;
  return sweepTranscripts({
    provider,
    target: { bucket: config.bucket, inputPrefix: config.inputPrefix },
    settings: {
      minAgeMs: MIN_AGE_MS,
      lookbackMs: 24 * HOUR,
      pageSize: 200,
      maxPages: 50,
      maxDeletes: 500,
      ...settings,
    },
    now: new Date(cut + MIN_AGE_MS),
    timeLeftMs: () => 60_000,
    requestTimeoutMs: 2_000,
    ...rest,
  });
}

const ours = (name: string) => `transcription/7/${name}.ogg`;

beforeEach(async () => {
  await start();
});

afterAll(async () => {
  await emulator.close();
});

describe('sweepTranscripts', () => {
  it("deletes exactly the old jobs of this bucket's input prefix and leaves every other job untouched", async () => {
    // Arrange: old jobs of every kind, then a boundary, then a job of ours that may still be in use
    emulator.injectFault({ kind: 'transcript-error', times: 1 });
    const [failedOurs = ''] = await submitFinished(virtualHosted(TEST_BUCKET, ours('failed')));
    const [alreadyDeleted = ''] = await submitFinished(virtualHosted(TEST_BUCKET, ours('earlier')));
    await provider.delete(alreadyDeleted);
    const oldOurs = await submitFinished(
      virtualHosted(TEST_BUCKET, ours('a')),
      pathStyle(TEST_BUCKET, ours('b')),
      virtualHosted(TEST_BUCKET, 'transcription/8/%D0%B3%D0%BE%D0%BB%D0%BE%D1%81.ogg'),
    );
    const others = await submitFinished(
      virtualHosted('other-bucket', ours('a')),
      pathStyle('other-bucket', ours('a')),
      virtualHosted(`${TEST_BUCKET}.backup`, ours('a')),
      virtualHosted(`${TEST_BUCKET}-old`, ours('a')),
      virtualHosted(TEST_BUCKET, 'results/7/a.json'),
      virtualHosted(TEST_BUCKET, `transcription-old/7/a.ogg`),
      pathStyle('other-bucket', `${TEST_BUCKET}/${ours('a')}`),
      'https://example.com/podcast.mp3',
    );
    const cut = await boundary();
    const young = await submitFinished(virtualHosted(TEST_BUCKET, ours('young')));
    const deletesBefore = emulator.stats().deletes;
    const listsBefore = emulator.stats().lists;

    // Act: pages of three, so the run reads several
    const summary = await sweep(cut, { settings: { pageSize: 3 } });

    // Assert
    const swept = [failedOurs, ...oldOurs].sort();
    expect(await deletedAmong([failedOurs, ...oldOurs, ...others, ...young])).toEqual(swept);
    expect([...summary.swept_ids].sort()).toEqual(swept);
    expect(summary).toMatchObject({
      stopped_by: 'end-of-list',
      delete_failed: [],
      unfinished_ids: [],
      too_recent: 1,
      already_deleted: 1,
      other_audio: others.length,
      transcripts_listed: 1 + 1 + oldOurs.length + others.length + young.length,
    });
    expect(emulator.stats().deletes - deletesBefore).toBe(swept.length);
    expect(summary.pages_read).toBe(emulator.stats().lists - listsBefore);
    expect(summary.pages_read).toBeGreaterThan(4);
    expect(JSON.stringify(summary)).not.toMatch(/X-Amz|:\/\//);
  });

  it('reads page after page, newest first, until the list ends', async () => {
    // Arrange
    const old = await submitFinished(
      ...['1', '2', '3', '4', '5'].map((n) => virtualHosted(TEST_BUCKET, ours(n))),
    );
    const cut = await boundary();
    const listsBefore = emulator.stats().lists;

    // Act
    const summary = await sweep(cut, { settings: { pageSize: 2 } });

    // Assert: the newest job is deleted first
    expect(summary.swept_ids).toEqual([...old].reverse());
    expect(summary.stopped_by).toBe('end-of-list');
    expect(summary.pages_read).toBeGreaterThanOrEqual(3);
    expect(summary.pages_read).toBe(emulator.stats().lists - listsBefore);
    expect(await deletedAmong(old)).toEqual([...old].sort());
  });

  it('stops paging at the lookback horizon and leaves jobs older than it alone', async () => {
    // Arrange: a job before the horizon, then one inside the window
    const [ancient = ''] = await submitFinished(virtualHosted(TEST_BUCKET, ours('ancient')));
    const horizon = await boundary();
    const [inWindow = ''] = await submitFinished(virtualHosted(TEST_BUCKET, ours('recent')));
    const cut = await boundary();

    // Act
    const summary = await sweep(cut, { settings: { lookbackMs: cut - horizon } });

    // Assert
    expect(summary).toMatchObject({ stopped_by: 'lookback', swept_ids: [inWindow] });
    expect(await isDeleted(ancient)).toBe(false);
  });

  it('skips old jobs still queued or processing without asking to delete them, and sweeps them once finished', async () => {
    // Arrange: slow jobs, and an AssemblyAI that refuses to delete an unfinished one
    await start({ processingDelayMs: 1_500, faults: [{ kind: 'refuse-delete-while-processing' }] });
    const { id } = await provider.submit({ audioUrl: virtualHosted(TEST_BUCKET, ours('slow')) });
    const cut = await boundary();

    // Act
    const early = await sweep(cut);
    const deletesWhileUnfinished = emulator.stats().deletes;
    await waitFinished([id]);
    const later = await sweep(cut);

    // Assert
    expect(early).toMatchObject({ unfinished_ids: [id], swept_ids: [], delete_failed: [] });
    expect(deletesWhileUnfinished).toBe(0);
    expect(later).toMatchObject({ unfinished_ids: [], swept_ids: [id] });
    expect(await isDeleted(id)).toBe(true);
  });

  it('counts a failed delete, goes on with the other jobs, and the next run deletes it', async () => {
    // Arrange
    const old = await submitFinished(...['1', '2', '3'].map((n) => virtualHosted(TEST_BUCKET, ours(n))));
    const cut = await boundary();
    emulator.injectFault({ kind: 'server-error', status: 503, on: 'delete', times: 1 });

    // Act
    const first = await sweep(cut);
    const second = await sweep(cut);

    // Assert
    expect(first.delete_failed).toEqual([{ transcript_id: old[2], error_type: 'ProviderUnavailable' }]);
    expect(first.swept_ids).toEqual([old[1], old[0]]);
    expect(first.stopped_by).toBe('end-of-list');
    expect(second).toMatchObject({ swept_ids: [old[2]], delete_failed: [], already_deleted: 2 });
    expect(await deletedAmong(old)).toEqual([...old].sort());
  });

  it("stops at AssemblyAI's rate limit instead of spending the requests the workflow shares", async () => {
    // Arrange
    const old = await submitFinished(...['1', '2', '3'].map((n) => virtualHosted(TEST_BUCKET, ours(n))));
    const cut = await boundary();
    emulator.injectFault({ kind: 'rate-limit', on: 'delete', times: 1 });

    // Act
    const summary = await sweep(cut);

    // Assert
    expect(summary).toMatchObject({
      stopped_by: 'rate-limited',
      swept_ids: [],
      delete_failed: [{ transcript_id: old[2], error_type: 'ProviderRateLimited' }],
    });
    expect(emulator.stats().deletes).toBe(1);
    expect(await deletedAmong(old)).toEqual([]);
  });

  it('attempts at most maxDeletes deletes per run and leaves the rest to the next run', async () => {
    // Arrange
    const old = await submitFinished(...['1', '2', '3', '4'].map((n) => virtualHosted(TEST_BUCKET, ours(n))));
    const cut = await boundary();

    // Act
    const first = await sweep(cut, { settings: { maxDeletes: 2 } });
    const deletedAfterFirst = await deletedAmong(old);
    const second = await sweep(cut, { settings: { maxDeletes: 2 } });

    // Assert
    expect(first).toMatchObject({ stopped_by: 'max-deletes', swept_ids: [old[3], old[2]] });
    expect(deletedAfterFirst).toEqual([old[2], old[3]].sort());
    expect(second).toMatchObject({ stopped_by: 'end-of-list', swept_ids: [old[1], old[0]] });
  });

  it('reads at most maxPages pages per run', async () => {
    // Arrange
    const old = await submitFinished(...['1', '2', '3', '4'].map((n) => virtualHosted(TEST_BUCKET, ours(n))));
    const cut = await boundary();
    const listsBefore = emulator.stats().lists;

    // Act
    const summary = await sweep(cut, { settings: { pageSize: 2, maxPages: 1 } });

    // Assert
    expect(summary).toMatchObject({ stopped_by: 'max-pages', pages_read: 1, swept_ids: [old[3], old[2]] });
    expect(emulator.stats().lists - listsBefore).toBe(1);
  });

  it('starts no request that could outlast the time left for the run', async () => {
    // Arrange: time for three requests of at most 2 s each, then less than one
    const old = await submitFinished(...['1', '2', '3', '4'].map((n) => virtualHosted(TEST_BUCKET, ours(n))));
    const cut = await boundary();
    const requestsBefore = emulator.stats().gets + emulator.stats().deletes;
    let checks = 0;
    const timeLeftMs = () => (++checks <= 3 ? 6_000 : 1_999);

    // Act
    const summary = await sweep(cut, { timeLeftMs });

    // Assert: one list and two deletes
    expect(summary).toMatchObject({ stopped_by: 'time', swept_ids: [old[3], old[2]] });
    expect(emulator.stats().gets + emulator.stats().deletes - requestsBefore).toBe(3);
  });

  it('reports a list it could not read, having deleted nothing', async () => {
    // Arrange
    await submitFinished(virtualHosted(TEST_BUCKET, ours('1')));
    const cut = await boundary();
    emulator.injectFault({ kind: 'server-error', status: 500, on: 'get', times: 1 });

    // Act
    const summary: SweepSummary = await sweep(cut);

    // Assert
    expect(summary).toMatchObject({
      stopped_by: 'list-failed',
      list_error_type: 'ProviderUnavailable',
      pages_read: 0,
      swept_ids: [],
    });
    expect(emulator.stats().deletes).toBe(0);
  });
});

describe('loadSweepSettings', () => {
  it('requires the bound, which the stack derives from the execution timeout', () => {
    expect(() => loadSweepSettings({})).toThrow(/SWEEP_MIN_AGE_SECONDS must be set/);
  });

  it('reads the bound and the documented per-run limits', () => {
    expect(loadSweepSettings({ SWEEP_MIN_AGE_SECONDS: '28980' })).toEqual({
      minAgeMs: 28_980_000,
      lookbackMs: 3 * 24 * HOUR,
      pageSize: 200,
      maxPages: 50,
      maxDeletes: 500,
      timeBudgetMs: 270_000,
    });
  });

  it.each([
    ['SWEEP_PAGE_SIZE', '201'],
    ['SWEEP_MAX_PAGES', '0'],
    ['SWEEP_MAX_DELETES', '2.5'],
    ['SWEEP_MIN_AGE_SECONDS', 'soon'],
  ])('refuses %s=%s', (name, value) => {
    expect(() => loadSweepSettings({ SWEEP_MIN_AGE_SECONDS: '28980', [name]: value })).toThrow(name);
  });
});
