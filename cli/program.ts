/**
 * `transcription`, the operator CLI: start, follow and inspect transcriptions, list failures,
 * redrive or retry, count outcomes — against a deployed stack or the local endpoint, through the
 * same typed client the bot uses. Results go to stdout, progress to stderr; exit codes below.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  DescribeExecutionCommand,
  type HistoryEvent,
  RedriveExecutionCommand,
  type ExecutionStatus as SfnExecutionStatus,
} from '@aws-sdk/client-sfn';
import { Command, CommanderError, Option } from 'commander';
import { clientConfigFromEnv } from '../client/config.js';
import {
  ClientConfigurationError,
  ExecutionNameTaken,
  ExecutionNotFound,
  ResultMissing,
  ResultWaitTimedOut,
} from '../client/errors.js';
import { consoleUrl, ENDED_STATUSES, executionArnOf, isExecutionArn } from '../client/executions.js';
import { abortableSleep, type ResultLookup, TranscriptionClient } from '../client/transcription-client.js';
import { parseUserId, type TranscriptionRequest } from '../lambdas/shared/contracts.js';
import { errorCategory, InvalidInput, isErrorType, TranscriptionError } from '../lambdas/shared/errors.js';
import {
  formatDuration,
  formatInstant,
  formatSegments,
  parseDuration,
  parseSince,
  percentile,
  table,
  wrap,
} from './format.js';
import { allEvents, executionEnd, lastEvents, latestAttempt, listExecutions } from './operations.js';

/** Exit codes: documented in `--help` and README "Operate". */
export const EXIT = {
  ok: 0,
  /** An AWS or network error, or a result that never appeared. */
  error: 1,
  /** Bad arguments, invalid input, missing configuration, or a refused action. */
  usage: 2,
  /** The transcription (execution) failed, timed out or was aborted. */
  failed: 3,
  /** Not finished yet (still running, or --wait ran out of time). */
  pending: 4,
  /** No such execution. */
  notFound: 5,
} as const;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  /** Terminal width for wrapping. @default 100 */
  columns?: number;
  /** Builds the client from the resolved settings; tests inject mocked SDK clients here. */
  createClient?: (options: ConstructorParameters<typeof TranscriptionClient>[0]) => TranscriptionClient;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** All of stdin, for `rotate-key --key-stdin` (cli/transcription.ts refuses a terminal). */
  readStdin?: () => Promise<string>;
  /** Builds the Secrets Manager client of `rotate-key`; tests inject a mocked one here. */
  createSecretsManager?: (region: string | undefined) => SecretsManagerClient;
}

interface GlobalOptions {
  stack?: string;
  stateMachineArn?: string;
  bucket?: string;
  region?: string;
  endpoint?: string;
  sfnEndpoint?: string;
  s3Endpoint?: string;
  sqsEndpoint?: string;
  completionQueueUrl?: string;
}

class Exit extends Error {
  constructor(
    readonly code: number,
    message?: string,
  ) {
    super(message ?? `exit ${code}`);
  }
}

function intOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1) throw new Exit(EXIT.usage, `${name} must be a positive integer`);
    return n;
  };
}

/** A repeatable option's values, in order. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `A=Anna` pairs as the input's `speaker_names`; the contract checks letters and names. */
export function speakerNamesOf(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) throw new Exit(EXIT.usage, `--speaker-name must be LETTER=NAME, e.g. A=Anna (got ${pair})`);
      return [pair.slice(0, at).trim(), pair.slice(at + 1)];
    }),
  );
}

/** A file id from a file name: `Voice message (2).ogg` → `Voice-message-2`. */
export function fileIdFromName(name: string): string {
  const stem = basename(name, extname(name))
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return stem.slice(0, 128) || 'audio';
}

/** The settings a deployed stack's outputs give (`cdk/transcription-stack.ts`). */
async function stackSettings(
  stackName: string,
  region: string | undefined,
): Promise<{ stateMachineArn?: string; bucket?: string; completionQueueUrl?: string }> {
  const cloudFormation = new CloudFormationClient(region ? { region } : {});
  let outputs: { OutputKey?: string; OutputValue?: string }[];
  try {
    const described = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = described.Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Exit(EXIT.error, `Could not read the outputs of stack ${stackName}: ${message}`);
  } finally {
    cloudFormation.destroy();
  }
  const output = (key: string) => outputs.find((o) => o.OutputKey === key)?.OutputValue;
  const settings = {
    stateMachineArn: output('StateMachineArn'),
    bucket: output('BucketName'),
    completionQueueUrl: output('CompletionQueueUrl'),
  };
  if (!settings.stateMachineArn)
    throw new Exit(EXIT.usage, `Stack ${stackName} has no StateMachineArn output`);
  return definedOnly(settings);
}

/** `value` without its undefined properties, so spreading it never erases a setting. */
function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const out = (text = '') => io.stdout(`${text}\n`);
  const err = (text: string) => io.stderr(`${text}\n`);
  const now = io.now ?? Date.now;
  const sleep = io.sleep ?? abortableSleep;
  const columns = io.columns ?? 100;
  let exitCode: number = EXIT.ok;

  const program = new Command('transcription')
    .description('Operate the transcription workflow: start, follow and inspect executions, triage failures.')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(add --help for usage)')
    .option(
      '--stack <name>',
      "read the state machine, bucket and completion queue from this stack's outputs (env TRANSCRIPTION_STACK_NAME), e.g. wisevoice-transcription-prod",
    )
    .option(
      '--state-machine-arn <arn>',
      'the state machine (env TRANSCRIPTION_STATE_MACHINE_ARN; stack output StateMachineArn)',
    )
    .option('--bucket <name>', 'the bucket (env TRANSCRIPTION_S3_BUCKET; stack output BucketName)')
    .option('--region <region>', 'AWS region (env AWS_REGION; default: the state machine ARN’s)')
    .option('--endpoint <url>', 'one local endpoint for every service (env AWS_ENDPOINT_URL)')
    .option('--sfn-endpoint <url>', 'Step Functions endpoint (env AWS_ENDPOINT_URL_SFN)')
    .option('--s3-endpoint <url>', 'S3 endpoint (env AWS_ENDPOINT_URL_S3)')
    .option('--sqs-endpoint <url>', 'SQS endpoint (env AWS_ENDPOINT_URL_SQS)')
    .option('--completion-queue-url <url>', 'completion queue (env TRANSCRIPTION_COMPLETION_QUEUE_URL)')
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 AWS/network error, 2 usage or invalid input, 3 transcription failed,
4 not finished yet, 5 no such execution.

Examples:
  transcription start voice.ogg --user 123 --file-id abc-123 --language ru --wait
  transcription status abc-123 --user 123
  transcription watch 123-abc-123
  transcription result abc-123 --user 123
  transcription failures --since 24h
  transcription retry abc-123 --user 123
  transcription stats --since 7d
  transcription rotate-key --stack wisevoice-transcription-prod --key-file new-key.txt`,
    );

  const client = async (command: Command): Promise<TranscriptionClient> => {
    const g = command.optsWithGlobals<GlobalOptions>();
    const stackName = g.stack ?? io.env.TRANSCRIPTION_STACK_NAME;
    // Explicit settings win over the stack's outputs, which win over nothing.
    const fromStack = stackName ? await stackSettings(stackName, g.region ?? io.env.AWS_REGION) : {};
    const env = { ...fromStack, ...definedOnly(clientConfigFromEnv(io.env)) };
    const endpoints = {
      ...env.endpoints,
      ...(g.endpoint && { stepfunctions: g.endpoint, s3: g.endpoint, sqs: g.endpoint }),
      ...(g.sfnEndpoint && { stepfunctions: g.sfnEndpoint }),
      ...(g.s3Endpoint && { s3: g.s3Endpoint }),
      ...(g.sqsEndpoint && { sqs: g.sqsEndpoint }),
    };
    const local = Boolean(endpoints.stepfunctions || endpoints.s3);
    const options = {
      ...env,
      ...(g.stateMachineArn && { stateMachineArn: g.stateMachineArn }),
      ...(g.bucket && { bucket: g.bucket }),
      ...(g.region && { region: g.region }),
      ...(g.completionQueueUrl && { completionQueueUrl: g.completionQueueUrl }),
      endpoints,
      // A local endpoint accepts any credentials; without any in the environment, give it some.
      ...(local && !env.credentials && { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
    };
    if (!options.stateMachineArn) {
      throw new Exit(
        EXIT.usage,
        'No state machine: pass --state-machine-arn or set TRANSCRIPTION_STATE_MACHINE_ARN (the stack output StateMachineArn)',
      );
    }
    return io.createClient ? io.createClient(options) : new TranscriptionClient(options);
  };
  const isLocal = (c: TranscriptionClient) => Boolean(c.config.endpoints?.stepfunctions);
  const link = (c: TranscriptionClient, arn: string) => (isLocal(c) ? arn : consoleUrl(arn));

  /** An execution ARN from an ARN, an execution name, or a file id with --user (latest attempt unless --attempt). */
  const resolveExecution = async (
    c: TranscriptionClient,
    target: string,
    options: { user?: number; attempt?: number },
  ): Promise<string> => {
    if (isExecutionArn(target)) return target;
    if (options.user === undefined) return executionArnOf(c.config.stateMachineArn as string, target);
    if (options.attempt !== undefined) return c.executionArnFor(options.user, target, options.attempt);
    const latest = await latestAttempt(c, options.user, target);
    if (!latest) throw new ExecutionNotFound(c.executionArnFor(options.user, target));
    return latest.execution.executionArn as string;
  };

  const printLookup = (lookup: ResultLookup, json: boolean): number => {
    if (json) {
      out(JSON.stringify(lookup, null, 2));
    } else if (lookup.status === 'completed') {
      out(lookup.segments.length ? formatSegments(lookup.segments, columns) : '(no speech)');
      const m = lookup.metadata;
      err(
        `\nCompleted: ${m.total_segments} segment(s), ${m.audio_duration ?? '?'} s of audio, language ${m.language_code ?? '?'}, ${m.speech_model_used ?? '?'}, in ${m.processing_time} s`,
      );
    } else if (lookup.status === 'failed') {
      out(
        wrap(
          `Failed in ${lookup.metadata.failed_state}: ${lookup.error.type} — ${lookup.error.message}`,
          columns,
          2,
        ),
      );
    } else {
      err(`Not finished: execution ${lookup.executionStatus} (${lookup.reason})`);
    }
    return lookup.status === 'completed' ? EXIT.ok : lookup.status === 'failed' ? EXIT.failed : EXIT.pending;
  };

  const waitAndPrint = async (c: TranscriptionClient, arn: string, timeout: string, json: boolean) => {
    const result = await c.waitForResult(arn, {
      timeoutMs: parseDuration(timeout),
      onProgress: (p) =>
        err(
          `  … ${p.pending.executionStatus.toLowerCase()} after ${formatDuration(p.elapsedMs)}, next check in ${formatDuration(p.nextCheckInMs)}`,
        ),
    });
    return printLookup(result, json);
  };

  const userOption = () =>
    new Option('--user <id>', 'the user id (with a file id)').argParser(intOption('--user'));
  const attemptOption = () =>
    new Option('--attempt <n>', 'attempt number (default: the latest)').argParser(intOption('--attempt'));

  program
    .command('start')
    .description('Upload a local file (or name an S3 key already uploaded) and start its transcription')
    .argument('<file|s3-key>', 'a local audio file, or the key of an uploaded one')
    .addOption(userOption().makeOptionMandatory())
    .option('--file-id <id>', 'the file id (default: from the file name)')
    .option('--language <code>', 'AssemblyAI language code, e.g. ru (default: detection)')
    .addOption(new Option('--speakers <n>', 'speakers expected, 1–10').argParser(intOption('--speakers')))
    .addOption(
      new Option('--speakers-min <n>', 'at least this many speakers').argParser(intOption('--speakers-min')),
    )
    .addOption(
      new Option('--speakers-max <n>', 'at most this many speakers').argParser(intOption('--speakers-max')),
    )
    .addOption(
      new Option(
        '--speaker-name <letter=name>',
        'a name for a speaker letter, e.g. A=Anna (repeatable)',
      ).argParser(collect),
    )
    .addOption(new Option('--keyterm <term>', 'a word or phrase to boost (repeatable)').argParser(collect))
    .addOption(
      new Option('--output <format>', 'also write srt, vtt or txt beside the result (repeatable)').argParser(
        collect,
      ),
    )
    .option('--redact-pii', 'redact personal information (default: the deployment’s setting)')
    .option('--no-redact-pii', 'do not redact, whatever the deployment’s default')
    .addOption(
      new Option(
        '--pii-policy <policy>',
        'an AssemblyAI PII policy to redact, e.g. person_name (repeatable)',
      ).argParser(collect),
    )
    .option('--force', 'transcribe even if a completed result of this audio exists')
    .addOption(new Option('--attempt <n>', 'attempt number (default 1)').argParser(intOption('--attempt')))
    .option('--wait', 'wait for the result and print it')
    .option('--timeout <duration>', 'with --wait: give up after', '20m')
    .option('--json', 'machine-readable output')
    .action(async (target: string, o, command: Command) => {
      const c = await client(command);
      const isFile = existsSync(target) && statSync(target).isFile();
      const started = await c.startTranscription({
        userId: o.user,
        fileId: o.fileId ?? fileIdFromName(target),
        ...(isFile ? { audio: { path: target } } : { s3Key: target }),
        languageCode: o.language,
        speakersExpected: o.speakers,
        speakersMin: o.speakersMin,
        speakersMax: o.speakersMax,
        speakerNames: o.speakerName && speakerNamesOf(o.speakerName),
        keyterms: o.keyterm,
        outputs: o.output,
        redactPii: o.redactPii,
        redactPiiPolicies: o.piiPolicy,
        force: o.force,
        attempt: o.attempt,
      });
      if (o.json && !o.wait) {
        out(JSON.stringify(started, null, 2));
      } else {
        const head = started.alreadyStarted ? 'Already started' : 'Started';
        (o.wait ? err : out)(
          `${head} ${started.executionName}${started.uploaded ? ` (uploaded ${started.s3Key})` : ''}\n  ${started.executionArn}\n  result: s3://${started.bucket}/${started.resultKey}`,
        );
      }
      if (o.wait) exitCode = await waitAndPrint(c, started.executionArn, o.timeout, Boolean(o.json));
    });

  program
    .command('status')
    .description('Show an execution: status, timing, error, result')
    .argument('<file_id|execution>', 'a file id (with --user), an execution name, or an execution ARN')
    .addOption(userOption())
    .addOption(attemptOption())
    .option('--json', 'machine-readable output')
    .action(async (target: string, o, command: Command) => {
      const c = await client(command);
      const arn = await resolveExecution(c, target, o);
      const execution = await c.describe(arn);
      if (!execution) throw new ExecutionNotFound(arn);
      const lookup = await c.getResult(arn);
      const status = execution.status ?? 'RUNNING';
      const ended = ENDED_STATUSES.has(status);
      const elapsed = (execution.stopDate?.getTime() ?? now()) - (execution.startDate?.getTime() ?? now());
      if (o.json) {
        out(JSON.stringify({ execution, result: lookup }, null, 2));
      } else {
        const rows = [
          ['execution', `${execution.name}`],
          [
            'status',
            `${status}${ended ? '' : ' (running)'}, ${formatDuration(elapsed)} since ${formatInstant(execution.startDate)}`,
          ],
        ];
        if (execution.error)
          rows.push(['error', `${execution.error}: ${execution.cause ?? ''}`.slice(0, columns * 2)]);
        rows.push([
          'result',
          lookup.status === 'pending'
            ? `none yet (${lookup.reason})`
            : lookup.status === 'completed'
              ? `completed, ${lookup.metadata.total_segments} segment(s)`
              : `failed in ${lookup.metadata.failed_state}: ${lookup.error.type}`,
        ]);
        rows.push([isLocal(c) ? 'arn' : 'console', link(c, arn)]);
        out(table(rows));
      }
      exitCode = status === 'SUCCEEDED' ? EXIT.ok : ended ? EXIT.failed : EXIT.pending;
    });

  program
    .command('watch')
    .description('Follow an execution state by state until it ends (polls its history)')
    .argument('<execution>', 'an execution name or ARN')
    .option('--interval <duration>', 'between polls', '2s')
    .option('--timeout <duration>', 'stop watching after', '1h')
    .action(async (target: string, o, command: Command) => {
      const c = await client(command);
      const arn = await resolveExecution(c, target, {});
      const interval = parseDuration(o.interval);
      const deadline = now() + parseDuration(o.timeout);
      const renderer = historyRenderer();
      for (;;) {
        let events: HistoryEvent[];
        try {
          events = await allEvents(c.sfn, arn);
        } catch (error) {
          if ((error as { name?: string }).name === 'ExecutionDoesNotExist') throw new ExecutionNotFound(arn);
          throw error;
        }
        for (const line of renderer(events)) out(line);
        const execution = await c.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
        const status = execution.status ?? 'RUNNING';
        if (ENDED_STATUSES.has(status)) {
          // Events written between the two calls.
          for (const line of renderer(await allEvents(c.sfn, arn))) out(line);
          exitCode = status === 'SUCCEEDED' ? EXIT.ok : EXIT.failed;
          return;
        }
        if (now() >= deadline) {
          err(`Still ${status} after ${o.timeout}`);
          exitCode = EXIT.pending;
          return;
        }
        await sleep(interval);
      }
    });

  program
    .command('result')
    .description('Print the result: segments as readable lines, or the object with --json')
    .argument('<file_id|execution>', 'a file id (with --user), an execution name, or an execution ARN')
    .addOption(userOption())
    .addOption(attemptOption())
    .option('--json', 'the result object as JSON')
    .option('--wait', 'wait until it is there')
    .option('--timeout <duration>', 'with --wait: give up after', '20m')
    .action(async (target: string, o, command: Command) => {
      const c = await client(command);
      const arn = await resolveExecution(c, target, o);
      exitCode = o.wait
        ? await waitAndPrint(c, arn, o.timeout, Boolean(o.json))
        : printLookup(await c.getResult(arn), Boolean(o.json));
    });

  program
    .command('failures')
    .description(
      'List failed, timed-out and aborted executions with error type, failed state and a console link',
    )
    .option('--since <when>', 'a duration back (24h, 30m, 7d) or a date', '24h')
    .addOption(new Option('--limit <n>', 'at most this many').default(50).argParser(intOption('--limit')))
    .option('--json', 'machine-readable output')
    .action(async (o, command: Command) => {
      const c = await client(command);
      const since = parseSince(o.since, now());
      const smArn = c.config.stateMachineArn as string;
      const lists = await Promise.all(
        (['FAILED', 'TIMED_OUT', 'ABORTED'] as SfnExecutionStatus[]).map((status) =>
          listExecutions(c.sfn, smArn, { since, limit: o.limit, status }),
        ),
      );
      const executions = lists
        .flat()
        .sort((a, b) => (b.startDate?.getTime() ?? 0) - (a.startDate?.getTime() ?? 0))
        .slice(0, o.limit);
      const rows = [];
      for (const execution of executions) {
        const end = executionEnd(await lastEvents(c.sfn, execution.executionArn as string));
        rows.push({ execution, end });
      }
      if (o.json) {
        out(
          JSON.stringify(
            rows.map(({ execution, end }) => ({
              execution_arn: execution.executionArn,
              name: execution.name,
              status: execution.status,
              started_at: execution.startDate?.toISOString(),
              error_type: end.error,
              failed_state: end.failedState,
              cause: end.cause,
              link: link(c, execution.executionArn as string),
            })),
            null,
            2,
          ),
        );
        return;
      }
      if (rows.length === 0) {
        err(`No failed executions since ${formatInstant(since)}`);
        return;
      }
      out(
        rows
          .map(({ execution, end }) =>
            [
              table([
                [
                  formatInstant(execution.startDate),
                  end.error ?? execution.status ?? '',
                  end.failedState ?? '?',
                  execution.name ?? '',
                ],
              ]),
              `  ${link(c, execution.executionArn as string)}`,
            ].join('\n'),
          )
          .join('\n'),
      );
      err(`${rows.length} unsuccessful execution(s) since ${formatInstant(since)}`);
    });

  program
    .command('redrive')
    .description(
      'Redrive an execution that stopped without a recorded outcome (refuses ones a redrive cannot help)',
    )
    .argument('<execution>', 'an execution name or ARN')
    .option('--force', 'redrive even when the failure was recorded or the execution was finalized')
    .action(async (target: string, o, command: Command) => {
      const c = await client(command);
      const arn = await resolveExecution(c, target, {});
      const execution = await c.describe(arn);
      if (!execution) throw new ExecutionNotFound(arn);
      const status = execution.status ?? 'RUNNING';
      if (!ENDED_STATUSES.has(status) || status === 'SUCCEEDED') {
        throw new Exit(
          EXIT.usage,
          `Execution ${execution.name} is ${status}: only an unsuccessful execution can be redriven`,
        );
      }
      const end = executionEnd(await lastEvents(c.sfn, arn));
      const hint = 'start a new attempt instead: transcription retry <file_id> --user <id>';
      if (!o.force && status === 'FAILED' && end.recorded) {
        throw new Exit(
          EXIT.usage,
          `Its failure (${end.error}) was recorded in its result, so a redrive ends the same way; ${hint}`,
        );
      }
      if (!o.force && status !== 'FAILED') {
        throw new Exit(
          EXIT.usage,
          `A ${status} execution has been finalized (failure result written, job deleted); ${hint}`,
        );
      }
      const response = await c.sfn.send(new RedriveExecutionCommand({ executionArn: arn }));
      out(`Redriven ${execution.name} at ${formatInstant(response.redriveDate)}\n  ${link(c, arn)}`);
    });

  program
    .command('retry')
    .description('Start the next attempt of a file with the same input')
    .argument('<file_id>', 'the file id')
    .addOption(userOption().makeOptionMandatory())
    .option('--force', 'transcribe again even if the file has a completed result')
    .option('--json', 'machine-readable output')
    .action(async (fileId: string, o, command: Command) => {
      const c = await client(command);
      const latest = await latestAttempt(c, o.user, fileId);
      if (!latest) throw new ExecutionNotFound(c.executionArnFor(o.user, fileId));
      const status = latest.execution.status ?? 'RUNNING';
      if (!ENDED_STATUSES.has(status)) {
        throw new Exit(EXIT.usage, `Attempt ${latest.attempt} (${latest.execution.name}) is still ${status}`);
      }
      const input = JSON.parse(latest.execution.input ?? '{}') as TranscriptionRequest;
      if (status === 'SUCCEEDED' && !o.force) {
        err('The last attempt succeeded: without --force the new one returns its completed result');
      }
      const started = await c.startTranscription({
        userId: parseUserId(input.user_id) ?? o.user,
        fileId,
        s3Key: input.s3_key,
        bucket: input.bucket,
        languageCode: input.language_code,
        speakersExpected: input.speakers_expected,
        speakersMin: input.speakers_min,
        speakersMax: input.speakers_max,
        speakerNames: input.speaker_names,
        keyterms: input.keyterms,
        outputs: input.outputs,
        redactPii: input.redact_pii,
        redactPiiPolicies: input.redact_pii_policies,
        force: o.force || input.force,
        attempt: latest.attempt + 1,
      });
      if (o.json) out(JSON.stringify(started, null, 2));
      else
        out(
          `Started attempt ${started.attempt}: ${started.executionName}\n  ${link(c, started.executionArn)}`,
        );
    });

  program
    .command('stats')
    .description('Count executions by status and error type, with p50/p95 durations')
    .option('--since <when>', 'a duration back (24h, 30m, 7d) or a date', '24h')
    .addOption(
      new Option('--limit <n>', 'executions to read at most').default(1000).argParser(intOption('--limit')),
    )
    .option('--json', 'machine-readable output')
    .action(async (o, command: Command) => {
      const c = await client(command);
      const since = parseSince(o.since, now());
      const executions = await listExecutions(c.sfn, c.config.stateMachineArn as string, {
        since,
        limit: o.limit,
      });
      const byStatus: Record<string, number> = {};
      const byError: Record<string, number> = {};
      const durations: { all: number[]; succeeded: number[] } = { all: [], succeeded: [] };
      for (const execution of executions) {
        const status = execution.status ?? 'UNKNOWN';
        byStatus[status] = (byStatus[status] ?? 0) + 1;
        if (execution.startDate && execution.stopDate) {
          const ms = execution.stopDate.getTime() - execution.startDate.getTime();
          durations.all.push(ms);
          if (status === 'SUCCEEDED') durations.succeeded.push(ms);
        }
        if (['FAILED', 'TIMED_OUT', 'ABORTED'].includes(status)) {
          const described = await c.describe(execution.executionArn as string);
          const type = described?.error ?? status;
          byError[type] = (byError[type] ?? 0) + 1;
        }
      }
      const quantiles = (values: number[]) => ({
        p50_ms: percentile(values, 0.5),
        p95_ms: percentile(values, 0.95),
      });
      const stats = {
        since: since.toISOString(),
        total: executions.length,
        truncated: executions.length >= o.limit,
        by_status: byStatus,
        by_error_type: byError,
        duration: { succeeded: quantiles(durations.succeeded), ended: quantiles(durations.all) },
      };
      if (o.json) {
        out(JSON.stringify(stats, null, 2));
        return;
      }
      const d = (v: number | undefined) => (v === undefined ? '—' : formatDuration(v));
      out(`${executions.length}${stats.truncated ? '+' : ''} execution(s) since ${formatInstant(since)}`);
      out(
        table(
          Object.entries(byStatus)
            .sort(([, a], [, b]) => b - a)
            .map(([s, n]) => [`  ${s}`, String(n)]),
        ),
      );
      if (Object.keys(byError).length) {
        out('Errors');
        out(
          table(
            Object.entries(byError)
              .sort(([, a], [, b]) => b - a)
              .map(([type, n]) => [
                `  ${type}`,
                String(n),
                isErrorType(type) ? errorCategory(type) : 'system',
              ]),
          ),
        );
      }
      out(
        table([
          ['Duration', 'p50', 'p95'],
          ['  succeeded', d(stats.duration.succeeded.p50_ms), d(stats.duration.succeeded.p95_ms)],
          ['  all ended', d(stats.duration.ended.p50_ms), d(stats.duration.ended.p95_ms)],
        ]),
      );
    });

  program
    .command('rotate-key')
    .description(
      "Replace the AssemblyAI key in the deployment's secret in two steps, checking each at AssemblyAI",
    )
    .option('--secret-id <id>', 'the secret (env ASSEMBLYAI_API_KEY_SECRET_ID; stack output ApiKeySecretId)')
    .addOption(
      new Option('--key-file <path>', 'step 1: the new key, read from this file').conflicts([
        'keyStdin',
        'finish',
        'cancel',
        'status',
      ]),
    )
    .addOption(
      new Option('--key-stdin', 'step 1: the new key, read from stdin (a pipe)').conflicts([
        'finish',
        'cancel',
        'status',
      ]),
    )
    .addOption(
      new Option('--finish', 'step 2: keep only the new key (then revoke the old one)').conflicts([
        'cancel',
        'status',
      ]),
    )
    .option('--wait', 'with --finish: wait until the Lambdas hold both keys instead of exiting 4')
    .addOption(new Option('--cancel', 'drop the next key, keep the current one').conflicts('status'))
    .option('--status', 'which step the secret is at (reads the secret only)')
    .option(
      '--base-url <url>',
      "AssemblyAI endpoint of the checks (env ASSEMBLYAI_BASE_URL; default: the stack's Lambdas', else https://api.assemblyai.com)",
    )
    .addHelpText(
      'after',
      `
The key is never an argument (it would stay in the shell history):
  read -rs KEY && printf '%s' "$KEY" | transcription rotate-key --stack NAME --key-stdin; unset KEY
Step 1 checks the new key with GET /v2/transcript?limit=1, checks it sees the current key's project,
and writes {"current": old, "next": new}. Step 2 (--finish) is allowed 5.5 min after step 1, when
every Lambda has read both keys: it writes the new key alone; revoke the old one right after.
Exit codes: 0 done, 1 AWS or AssemblyAI unreachable, 2 refused (nothing written), 4 too early for --finish.`,
    )
    .action(async (o, command: Command) => {
      const g = command.optsWithGlobals<GlobalOptions>();
      const mode: 'start' | 'finish' | 'cancel' | 'status' = o.finish
        ? 'finish'
        : o.cancel
          ? 'cancel'
          : o.status
            ? 'status'
            : 'start';
      if (mode === 'start' && !o.keyFile && !o.keyStdin) {
        throw new Exit(
          EXIT.usage,
          'Give the new key with --key-file <path> or --key-stdin (never as an argument: it would stay in the shell history), or use --finish, --cancel or --status',
        );
      }
      if (o.wait && mode !== 'finish') throw new Exit(EXIT.usage, '--wait goes with --finish');
      const rotation = await import('./rotate-key.js');
      try {
        let newKey: string | undefined;
        if (o.keyFile) {
          let text: string;
          try {
            text = readFileSync(o.keyFile, 'utf8');
          } catch (error) {
            const code = (error as { code?: string }).code ?? 'unreadable';
            throw new Exit(EXIT.usage, `Cannot read --key-file ${o.keyFile} (${code})`);
          }
          newKey = rotation.checkedNewKey(text);
        } else if (o.keyStdin) {
          if (!io.readStdin) throw new Exit(EXIT.usage, '--key-stdin: no stdin to read');
          newKey = rotation.checkedNewKey(await io.readStdin());
        }

        const stackName = g.stack ?? io.env.TRANSCRIPTION_STACK_NAME;
        let secretId: string | undefined = o.secretId ?? io.env.ASSEMBLYAI_API_KEY_SECRET_ID?.trim();
        let baseUrl: string | undefined = o.baseUrl ?? io.env.ASSEMBLYAI_BASE_URL?.trim();
        let region = g.region ?? io.env.AWS_REGION;
        const needsBaseUrl = mode !== 'status' && !baseUrl;
        if (stackName && (!secretId || needsBaseUrl)) {
          let fromStack: { secretId?: string; baseUrl?: string };
          try {
            fromStack = await rotation.stackRotationSettings(stackName, region, { needsBaseUrl });
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            throw new Exit(EXIT.error, `Could not read stack ${stackName}: ${message}`);
          }
          if (!secretId && !fromStack.secretId) {
            throw new Exit(EXIT.usage, `Stack ${stackName} has no ApiKeySecretId output`);
          }
          secretId ??= fromStack.secretId;
          baseUrl ??= fromStack.baseUrl;
        }
        if (!secretId) {
          throw new Exit(
            EXIT.usage,
            'No secret: pass --stack <name> (or set TRANSCRIPTION_STACK_NAME) or --secret-id <id>',
          );
        }
        // A secret ARN names its region.
        region ??= /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):/.exec(secretId)?.[1];
        if (!baseUrl) {
          baseUrl = rotation.DEFAULT_BASE_URL;
          if (mode !== 'status') {
            err(
              `AssemblyAI endpoint: ${baseUrl} (the default; for an EU deployment pass --base-url https://api.eu.assemblyai.com)`,
            );
          }
        }
        if (!/^https?:\/\/[^\s]+$/.test(baseUrl))
          throw new Exit(EXIT.usage, '--base-url must be an http(s) URL');
        baseUrl = baseUrl.replace(/\/+$/, '');

        const target = o.secretId || !stackName ? `--secret-id ${secretId}` : `--stack ${stackName}`;
        const secrets = io.createSecretsManager
          ? io.createSecretsManager(region)
          : new SecretsManagerClient(region ? { region } : {});
        const context = {
          secrets,
          secretId,
          baseUrl,
          commandLine: `npm exec transcription -- rotate-key ${target}${o.baseUrl ? ` --base-url ${baseUrl}` : ''}`,
          now,
          sleep: (ms: number) => sleep(ms),
          report: out,
          progress: err,
        };
        try {
          if (mode === 'start') await rotation.startRotation(context, newKey as string);
          else if (mode === 'finish') await rotation.finishRotation(context, { wait: Boolean(o.wait) });
          else if (mode === 'cancel') await rotation.cancelRotation(context);
          else await rotation.rotationStatus(context);
        } finally {
          if (!io.createSecretsManager) secrets.destroy();
        }
      } catch (error) {
        if (error instanceof rotation.RotationStopped) {
          throw new Exit(error.kind === 'notYet' ? EXIT.pending : EXIT.usage, error.message);
        }
        // Provider errors are written to be shown (no key, no URL query): the secret is unchanged.
        if (error instanceof TranscriptionError) {
          throw new Exit(EXIT.error, `${error.name}: ${error.message} (the secret is unchanged)`);
        }
        throw error;
      }
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    return exitCodeOf(error, err);
  }
}

/** Error → message on stderr and exit code. */
function exitCodeOf(error: unknown, err: (text: string) => void): number {
  if (error instanceof CommanderError) {
    return error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version' ||
      error.exitCode === 0
      ? EXIT.ok
      : EXIT.usage;
  }
  if (error instanceof Exit) {
    err(error.message);
    return error.code;
  }
  if (
    error instanceof InvalidInput ||
    error instanceof ClientConfigurationError ||
    error instanceof RangeError
  ) {
    err(error.message);
    return EXIT.usage;
  }
  if (error instanceof ExecutionNameTaken) {
    err(`${error.message}\n  (pass --attempt ${error.nextAttempt})`);
    return EXIT.usage;
  }
  if (error instanceof ExecutionNotFound) {
    err(error.message);
    return EXIT.notFound;
  }
  if (error instanceof ResultWaitTimedOut) {
    err(error.message);
    return EXIT.pending;
  }
  if (error instanceof ResultMissing) {
    err(error.message);
    return EXIT.error;
  }
  const e = error as { name?: string; message?: string };
  err(`${e?.name ?? 'Error'}: ${e?.message ?? String(error)}`);
  return EXIT.error;
}

const QUIET_STATES = new Set(['Pass', 'Choice', 'Succeed', 'Fail']);

/** Turns history events into lines as `npm start` prints them; remembers what it has shown. */
export function historyRenderer(): (events: HistoryEvent[]) => string[] {
  let lastId = 0;
  let startedAt: number | undefined;
  const enteredAt = new Map<string, number>();
  let current: string | undefined;
  return (events) => {
    const lines: string[] = [];
    for (const event of events) {
      const id = event.id ?? 0;
      if (id <= lastId) continue;
      lastId = id;
      const at = event.timestamp?.getTime() ?? 0;
      startedAt ??= at;
      const clock = `${((at - startedAt) / 1000).toFixed(1)}s`.padStart(7);
      const type = event.type ?? '';
      const kind = type.replace(/State(Entered|Exited)$/, '');
      if (type.endsWith('StateEntered')) {
        const name = event.stateEnteredEventDetails?.name ?? '?';
        enteredAt.set(name, at);
        current = name;
        if (kind === 'Wait') {
          const input = safeJson(event.stateEnteredEventDetails?.input) as {
            transcript?: { wait_seconds?: number };
          };
          const seconds = input?.transcript?.wait_seconds;
          lines.push(`${clock}  … ${name}${seconds === undefined ? '' : ` (${seconds} s)`}`);
        }
      } else if (type.endsWith('StateExited') && !QUIET_STATES.has(kind) && kind !== 'Wait') {
        const name = event.stateExitedEventDetails?.name ?? '?';
        const took = at - (enteredAt.get(name) ?? at);
        const output = safeJson(event.stateExitedEventDetails?.output) as {
          transcript?: { status?: string };
        };
        const status =
          name === 'Check transcript status' && output?.transcript?.status
            ? `: ${output.transcript.status}`
            : '';
        lines.push(`${clock}  ✓ ${name} (${formatDuration(took)})${status}`);
      } else if (/^(LambdaFunction|Task)(Failed|TimedOut)$/.test(type)) {
        const d =
          event.lambdaFunctionFailedEventDetails ??
          event.lambdaFunctionTimedOutEventDetails ??
          event.taskFailedEventDetails ??
          event.taskTimedOutEventDetails;
        lines.push(`${clock}  ✗ ${current ?? '?'}: ${d?.error ?? type}`);
      } else if (type === 'ExecutionSucceeded') {
        lines.push(`${clock}  Succeeded`);
      } else if (type === 'ExecutionFailed' || type === 'ExecutionTimedOut' || type === 'ExecutionAborted') {
        const d =
          event.executionFailedEventDetails ??
          event.executionTimedOutEventDetails ??
          event.executionAbortedEventDetails;
        lines.push(
          `${clock}  ${type.replace('Execution', '')}: ${d?.error ?? ''}${d?.cause ? ` — ${d.cause}` : ''}`.trimEnd(),
        );
      } else if (type === 'ExecutionRedriven') {
        lines.push(`${clock}  Redriven`);
      }
    }
    return lines;
  };
}

function safeJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '');
  } catch {
    return undefined;
  }
}
