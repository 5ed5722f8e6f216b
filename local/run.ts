/**
 * `npm start -- <audio-file> [--user-id N] [--file-id ID] [--language CODE] [request options] [--json] [--webhook]`
 *
 * Transcribes one file through the real state machine definition and the real Lambda handlers,
 * on an embedded S3 (objects under .local/s3) and — unless ASSEMBLYAI_API_KEY is set — the bundled
 * AssemblyAI emulator. Progress goes to stderr; stdout gets the transcript (or, with --json, only
 * the result object). Exit code 0 when the transcription completed, 1 when it failed, 2 on usage.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { speakerNamesOf } from '../cli/program.js';
import {
  DEFAULT_RESULTS_PREFIX,
  FILE_ID_PATTERN,
  MAX_SPEAKERS_EXPECTED,
  resultKey,
  type TranscriptionResult,
} from '../lambdas/shared/contracts.js';
import { startEmulator } from './assemblyai-emulator/emulator.js';
import { SAMPLE_AUDIO_PATH } from './assemblyai-emulator/sample.js';
import { startEmbeddedS3 } from './embedded-s3.js';
import { LOCAL_BUCKET, type ProviderMode, providerMode } from './provider-mode.js';
import { startLocalWebhookMode } from './webhook-mode.js';
import { type EventLog, LocalWorkflow, loadLambdaHandlers } from './workflow.js';

const USAGE = [
  'Usage: npm start -- [audio-file] [--user-id N] [--file-id ID] [--language CODE] [--json] [--webhook] [--verbose]',
  '  request options: [--speakers N | --speakers-min N --speakers-max N] [--speaker-name A=Anna]…',
  '                   [--keyterm TERM]… [--output srt|vtt|txt]… [--redact-pii] [--pii-policy POLICY]…',
].join('\n');

// Everything but the transcript goes to stderr, so `--json` output can be piped. Powertools logs
// (shown with --verbose) use the global console in POWERTOOLS_DEV mode, redirected here too.
const say = (line: string) => process.stderr.write(`${line}\n`);
console.log = console.info = console.debug = console.warn = console.error;

function usageError(message: string): never {
  say(message);
  say(USAGE);
  process.exit(2);
}

function parseCli() {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions();
  } catch (error) {
    usageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    say(USAGE);
    process.exit(0);
  }
  if (positionals.length > 1) usageError('Give one audio file.');
  if (!/^[1-9][0-9]{0,15}$/.test(values['user-id'])) usageError('--user-id must be a positive integer');
  const speakerCount = (name: 'speakers' | 'speakers-min' | 'speakers-max') => {
    const value = values[name];
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!(Number.isInteger(n) && n >= 1 && n <= MAX_SPEAKERS_EXPECTED)) {
      usageError(`--${name} must be an integer from 1 to ${MAX_SPEAKERS_EXPECTED}`);
    }
    return n;
  };
  let speakerNames: Record<string, string> | undefined;
  try {
    speakerNames = values['speaker-name'] && speakerNamesOf(values['speaker-name']);
  } catch (error) {
    usageError((error as Error).message);
  }
  const file = resolve(positionals[0] ?? SAMPLE_AUDIO_PATH);
  const derivedId =
    basename(file, extname(file))
      .replace(/[^A-Za-z0-9_-]/g, '-')
      .slice(0, 128) || 'audio';
  const fileId = values['file-id'] ?? derivedId;
  if (!FILE_ID_PATTERN.test(fileId))
    usageError('--file-id must be 1-128 characters of A-Z, a-z, 0-9, "_" or "-"');
  return {
    file,
    fileId,
    userId: Number(values['user-id']),
    language: values.language,
    // The input's optional fields, as the bot would send them; the workflow's validation judges them.
    options: {
      speakers_expected: speakerCount('speakers'),
      speakers_min: speakerCount('speakers-min'),
      speakers_max: speakerCount('speakers-max'),
      speaker_names: speakerNames,
      keyterms: values.keyterm,
      outputs: values.output,
      redact_pii: values['redact-pii'] || undefined,
      redact_pii_policies: values['pii-policy'],
    },
    json: values.json,
    webhook: values.webhook,
    verbose: values.verbose,
  };
}

function parseOptions() {
  return parseArgs({
    allowPositionals: true,
    options: {
      'user-id': { type: 'string', default: '1' },
      'file-id': { type: 'string' },
      language: { type: 'string' },
      speakers: { type: 'string' },
      'speakers-min': { type: 'string' },
      'speakers-max': { type: 'string' },
      'speaker-name': { type: 'string', multiple: true },
      keyterm: { type: 'string', multiple: true },
      output: { type: 'string', multiple: true },
      'redact-pii': { type: 'boolean', default: false },
      'pii-policy': { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
      webhook: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

function timestamp(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds - m * 60;
  return `${String(m).padStart(2, '0')}:${s.toFixed(2).padStart(5, '0')}`;
}

function progress(started: number, verbose: boolean) {
  const entered = new Map<string, number>();
  const failed = new Set<string>();
  return (event: EventLog) => {
    const t = `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
    if (event.type === 'StateEntered') {
      entered.set(event.state.name, Date.now());
      if (event.state.type === 'Wait') {
        const seconds = (event.state.input as { transcript?: { wait_seconds?: number } })?.transcript
          ?.wait_seconds;
        say(`${t}  … ${event.state.name} (${seconds ?? '?'} s)`);
      }
    } else if (
      event.type === 'StateExited' &&
      event.state.type === 'Task' &&
      !failed.delete(event.state.name)
    ) {
      const ms = Date.now() - (entered.get(event.state.name) ?? Date.now());
      const status = (event.state.output as { transcript?: { status?: string } })?.transcript?.status;
      const detail =
        ['Check transcript status', 'Submit and wait for webhook'].includes(event.state.name) && status
          ? `: ${status}`
          : '';
      say(`${t}  ✓ ${event.state.name} (${ms} ms)${detail}`);
    } else if (event.type === 'StateFailed') {
      failed.add(event.state.name);
      say(`${t}  ✗ ${event.state.name}: ${event.Error}${verbose ? ` (${String(event.Cause)})` : ''}`);
    } else if (event.type === 'StateRetried') {
      say(`${t}  ↻ ${event.state.name}: retry #${event.retry.attempt}`);
    }
  };
}

/**
 * The embedded S3, or — with the real AssemblyAI — a real bucket: AssemblyAI downloads the audio
 * from a presigned URL, and it cannot reach an S3 running on this machine.
 */
async function openStorage(mode: ProviderMode) {
  if (mode !== 'assemblyai') {
    return startEmbeddedS3({ directory: resolve('.local/s3'), bucket: LOCAL_BUCKET });
  }
  const bucket = process.env.TRANSCRIPTION_BUCKET?.trim();
  if (!bucket) {
    say('ASSEMBLYAI_API_KEY is set, so the real AssemblyAI will download the audio from a presigned S3 URL.');
    say(
      'It cannot reach the embedded S3 on this machine: also set TRANSCRIPTION_BUCKET to a real bucket you can',
    );
    say('write to (AWS credentials from the usual chain), or unset ASSEMBLYAI_API_KEY to use the emulator.');
    process.exit(2);
  }
  say(
    `Using the real AssemblyAI at ${process.env.ASSEMBLYAI_BASE_URL ?? 'https://api.assemblyai.com'} and s3://${bucket}`,
  );
  const client = new S3Client({});
  return { bucket, client, env: {}, directory: undefined, close: async () => client.destroy() };
}

async function main(): Promise<number> {
  const cli = parseCli();
  const audio = await readFile(cli.file).catch(() => {
    say(`Cannot read ${cli.file}`);
    process.exit(2);
  });
  const mode = providerMode();
  const storage = await openStorage(mode);
  const bucket = storage.bucket;
  const emulator = mode === 'bundled-emulator' ? await startEmulator({ processingDelayMs: 1500 }) : undefined;
  if (mode === 'local-emulator') say(`Using the AssemblyAI emulator at ${process.env.ASSEMBLYAI_BASE_URL}`);
  if (emulator) say(`No ASSEMBLYAI_API_KEY: using the bundled AssemblyAI emulator at ${emulator.url}`);
  if (cli.webhook && mode === 'assemblyai') {
    say('--webhook needs a receiver AssemblyAI can reach: locally it works with the emulator only.');
    process.exit(2);
  }
  // Webhook mode as deployed with -c transcriptDelivery=webhook: the emulator delivers to a local receiver.
  const webhook = cli.webhook ? await startLocalWebhookMode() : undefined;
  if (webhook) say(`Webhook mode: AssemblyAI's webhooks go to the local receiver at ${webhook.url}`);

  try {
    Object.assign(process.env, storage.env, {
      TRANSCRIPTION_BUCKET: bucket,
      POWERTOOLS_SERVICE_NAME: 'transcription',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_DEV: 'true',
      POWERTOOLS_LOG_LEVEL: cli.verbose ? 'DEBUG' : 'SILENT',
      ...(emulator && { ASSEMBLYAI_BASE_URL: emulator.url, ASSEMBLYAI_API_KEY: emulator.apiKey }),
      ...webhook?.env,
      TRANSCRIPT_DELIVERY: webhook ? 'webhook' : 'poll',
    });
    const extension = extname(cli.file)
      .toLowerCase()
      .replace(/[^a-z0-9.]/g, '')
      .slice(0, 8);
    const key = `transcription/${cli.userId}/${cli.fileId}${extension}`;
    await storage.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: audio }));
    say(`Uploaded ${basename(cli.file)} (${audio.length} bytes) to s3://${bucket}/${key}`);

    const handlers = await loadLambdaHandlers();
    webhook?.attach(handlers);
    const workflow = new LocalWorkflow(handlers, { taskTokens: webhook?.tokens });
    const input = {
      s3_key: key,
      user_id: cli.userId,
      file_id: cli.fileId,
      bucket,
      ...(cli.language && { language_code: cli.language }),
      ...Object.fromEntries(Object.entries(cli.options).filter(([, value]) => value !== undefined)),
      // Each local run transcribes: .local/s3 keeps earlier results, and the same file name may be new audio.
      force: true,
    };
    const started = Date.now();
    const running = workflow.start(input, {
      executionName: `local-${cli.fileId}-${started}`,
      onEvent: progress(started, cli.verbose),
    });
    // Ctrl-C stops the execution as StopExecution would: finalize-execution then writes its result.
    const abort = () => {
      say('Aborting the execution…');
      running.abort();
    };
    process.once('SIGINT', abort);
    const outcome = await running.outcome.finally(() => process.off('SIGINT', abort));

    const location = resultKey(DEFAULT_RESULTS_PREFIX, cli.userId, cli.fileId);
    const stored = await storage.client
      .send(new GetObjectCommand({ Bucket: bucket, Key: location }))
      .then(
        async (r) => JSON.parse((await r.Body?.transformToString('utf-8')) ?? 'null') as TranscriptionResult,
      )
      .catch(() => undefined);
    // Only this run's result counts: the key may hold an earlier run's (a completed result is
    // never replaced by a failure).
    const result = stored?.metadata.execution_arn === outcome.executionArn ? stored : undefined;

    if (cli.json) {
      process.stdout.write(`${JSON.stringify(result ?? null, null, 2)}\n`);
    } else if (result?.status === 'completed') {
      say('');
      for (const segment of result.segments) {
        process.stdout.write(`[${timestamp(segment.start)}] ${segment.speaker}: ${segment.text}\n`);
      }
      if (result.segments.length === 0) process.stdout.write('(no speech)\n');
    }
    say('');
    if (outcome.status === 'SUCCEEDED') {
      const segments = result?.status === 'completed' ? result.segments.length : 0;
      say(`Completed in ${(outcome.durationMs / 1000).toFixed(1)} s: ${segments} segment(s).`);
    } else if (outcome.status === 'FAILED') {
      say(`Failed: ${outcome.error}: ${outcome.cause}`);
    } else {
      say(outcome.status === 'ABORTED' ? 'Aborted.' : 'Timed out.');
    }
    const where = (key: string) =>
      `s3://${bucket}/${key}${storage.directory ? ` (on disk: ${storage.directory}/${bucket}/${key}._S3rver_object)` : ''}`;
    say(result ? `Result: ${where(location)}` : 'This run wrote no result object.');
    const outputs = result?.status === 'completed' ? Object.values(result.metadata.outputs ?? {}) : [];
    for (const output of outputs) say(`Output: ${where(output)}`);
    return outcome.status === 'SUCCEEDED' ? 0 : 1;
  } finally {
    await webhook?.close();
    await emulator?.close();
    await storage.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    say(`Local run crashed: ${(error as Error).stack ?? error}`);
    process.exit(3);
  },
);
