/**
 * Webhook mode's receiver: AssemblyAI POSTs `{transcript_id, status}` to this Lambda's Function URL
 * when a job ends. The payload is only a hint — AssemblyAI signs nothing — so the receiver checks
 * the secret header in constant time, re-reads the job with a GET, and answers the task token that
 * Submit left for this transcript with what "Check transcript status" would have returned (the
 * transcript stored in S3, or the job's classified error).
 *
 * HTTP answers, chosen for AssemblyAI's delivery rules (2xx within 10 s; no 2xx → retried, up to
 * 10 attempts; a 4xx is never retried): 2xx once the task is answered or already over (a repeated
 * delivery, or an execution that has fallen back to polling); 401/400/405 for requests that no
 * retry can fix; 503 for anything a later delivery may get through (no token recorded yet, the
 * job not final yet, AssemblyAI, S3 or Step Functions failing).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { isTranscriptId, type TranscriptionProvider } from '../shared/assemblyai.js';
import type { WorkflowConfig } from '../shared/config.js';
import { TranscriptionError } from '../shared/errors.js';
import { checkedAnswer, concludeJob, isDeletedTranscript, isFinal } from '../shared/job-outcome.js';
import { getJsonIfExists } from '../shared/storage.js';
import { isTaskOver, type TaskCallbacks } from '../shared/task-callbacks.js';
import { type WebhookRecord, webhookRecordKey } from '../shared/workflow-state.js';

export interface ReceiveDeps {
  s3: S3Client;
  provider: TranscriptionProvider;
  config: WorkflowConfig;
  tasks: TaskCallbacks;
  /** The deployment's webhook secret (see WEBHOOK_AUTH_HEADER). */
  secret: () => Promise<string>;
  /** The header AssemblyAI sends the secret in. */
  headerName: string;
}

/** Why the receiver answered as it did: a log key and a metric dimension, never a secret. */
export type WebhookOutcome =
  | 'answered'
  | 'task-over'
  | 'not-final'
  | 'not-registered'
  | 'unauthorized'
  | 'bad-request'
  | 'method-not-allowed'
  | 'unavailable';

export interface WebhookAnswer {
  statusCode: number;
  outcome: WebhookOutcome;
  transcriptId?: string;
  /** Set when the task was answered: `completed`, `error`, or the failure's error type. */
  jobStatus?: string;
  /** Set when the receiver could not answer the task: the error's type (its message may hold provider text). */
  errorType?: string;
}

const HTTP_STATUS: Record<WebhookOutcome, number> = {
  answered: 200,
  'task-over': 200,
  'not-final': 503,
  'not-registered': 503,
  unauthorized: 401,
  'bad-request': 400,
  'method-not-allowed': 405,
  unavailable: 503,
};

const answer = (outcome: WebhookOutcome, extra: Omit<WebhookAnswer, 'statusCode' | 'outcome'> = {}) => ({
  statusCode: HTTP_STATUS[outcome],
  outcome,
  ...extra,
});

/** Compares digests, so neither the length nor the content of the secret leaks through timing. */
export function secretMatches(given: string | undefined, secret: string): boolean {
  if (given === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(secret));
}

function headerOf(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const wanted = name.toLowerCase();
  const entry = Object.entries(event.headers ?? {}).find(([key]) => key.toLowerCase() === wanted);
  return entry?.[1];
}

/** The transcript id of a well-formed delivery, or undefined. */
function deliveredTranscriptId(event: APIGatewayProxyEventV2): string | undefined {
  if (typeof event.body !== 'string' || event.body.length > 4096) return undefined;
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    const payload = JSON.parse(text) as { transcript_id?: unknown; status?: unknown };
    return isTranscriptId(payload?.transcript_id) && typeof payload.status === 'string'
      ? payload.transcript_id
      : undefined;
  } catch {
    return undefined;
  }
}

export async function receiveWebhook(
  event: APIGatewayProxyEventV2,
  deps: ReceiveDeps,
): Promise<WebhookAnswer> {
  if (event.requestContext?.http?.method !== 'POST') return answer('method-not-allowed');
  if (!secretMatches(headerOf(event, deps.headerName), await deps.secret())) return answer('unauthorized');
  const transcriptId = deliveredTranscriptId(event);
  if (!transcriptId) return answer('bad-request');

  const { s3, config, provider, tasks } = deps;
  try {
    const record = await getJsonIfExists<WebhookRecord>(
      s3,
      config.bucket,
      webhookRecordKey(config.workPrefix, transcriptId),
    );
    if (!record) return answer('not-registered', { transcriptId });
    const transcript = checkedAnswer(await provider.get(transcriptId), transcriptId);
    if (!isFinal(transcript) && !isDeletedTranscript(transcript))
      return answer('not-final', { transcriptId });
    try {
      let jobStatus: string;
      try {
        const concluded = await concludeJob(record.job, record.execution, transcript, { s3, config });
        if (!concluded) return answer('not-final', { transcriptId });
        await tasks.succeed(record.task_token, concluded);
        jobStatus = concluded.status;
      } catch (error) {
        // A deleted transcript: the execution fails as Check would fail it (Submit's Catch).
        if (!(error instanceof TranscriptionError) || error.retryable) throw error;
        await tasks.fail(record.task_token, error.name, error.message);
        jobStatus = error.name;
      }
      return answer('answered', { transcriptId, jobStatus });
    } catch (error) {
      if (isTaskOver(error)) return answer('task-over', { transcriptId });
      throw error;
    }
  } catch (error) {
    // Whatever failed (AssemblyAI, S3, Step Functions, a wrong key), a later delivery may get
    // through, and a lost one is still caught by the task's timeout: never a 4xx here.
    return answer('unavailable', { transcriptId, errorType: (error as Error)?.name ?? 'Error' });
  }
}
