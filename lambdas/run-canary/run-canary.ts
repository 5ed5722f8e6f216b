/**
 * "Run canary" (`-c canary=rate(15 minutes)`, issue 11 part 7): on each scheduled event, the
 * bundled sample goes through the deployed workflow exactly as a bot's upload would (its audio
 * under the input prefix, then StartExecution with the bot's input contract), so the real
 * AssemblyAI, key, model list and IAM grants are all exercised. Whether the run completed is told
 * by the finalizer (`CanaryCompleted`), which sees every ending; this only starts runs.
 */
import { CopyObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { CANARY_USER_ID, canaryRun } from '../shared/canary.js';
import type { TranscriptionInput } from '../shared/contracts.js';
import type { CanarySettings } from './canary-settings.js';

export interface CanaryDeps extends CanarySettings {
  s3: Pick<S3Client, 'send'>;
  sfn: Pick<SFNClient, 'send'>;
  now?: () => Date;
}

/** The part of EventBridge's scheduled event that names the run. */
export interface ScheduledEvent {
  time?: string;
}

export interface CanaryStart {
  execution_name: string;
  /**
   * False when this scheduled time's run had already ended (a late redelivery of the event).
   * A redelivery while the run is still going also starts nothing: Step Functions answers a
   * StartExecution with a running execution's name and input with that execution.
   */
  started: boolean;
}

const isAlreadyExists = (error: unknown) =>
  (error as { name?: unknown } | undefined)?.name === 'ExecutionAlreadyExists';

/** `bucket/key`, URL-encoded per segment as S3 wants it (slashes kept, which every S3 accepts). */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** The run's time: the schedule's, so a redelivery names the same run; now for a manual invoke. */
export function runTimeOf(event: ScheduledEvent | undefined, now: Date): Date {
  const scheduled = event?.time ? new Date(event.time) : undefined;
  return scheduled && !Number.isNaN(scheduled.getTime()) ? scheduled : now;
}

export async function runCanary(event: ScheduledEvent | undefined, deps: CanaryDeps): Promise<CanaryStart> {
  const run = canaryRun(runTimeOf(event, deps.now?.() ?? new Date()), deps.inputPrefix);
  await deps.s3.send(
    new CopyObjectCommand({
      Bucket: deps.bucket,
      Key: run.s3Key,
      CopySource: copySource(deps.sampleBucket, deps.sampleKey),
    }),
  );
  const input: TranscriptionInput = {
    s3_key: run.s3Key,
    user_id: CANARY_USER_ID,
    file_id: run.fileId,
    bucket: deps.bucket,
  };
  try {
    await deps.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: deps.stateMachineArn,
        name: run.executionName,
        input: JSON.stringify(input),
      }),
    );
    return { execution_name: run.executionName, started: true };
  } catch (error) {
    // The same name is only ever given the same input (both derive from the scheduled time).
    if (isAlreadyExists(error)) return { execution_name: run.executionName, started: false };
    throw error;
  }
}
