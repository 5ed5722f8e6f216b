/** Names shared by the canary Lambda and the CDK construct that deploys it (no SDK imports). */
import { requiredEnv } from '../shared/config.js';

/** The Lambda's name (its folder, and the `step` dimension of its metrics). */
export const CANARY_STEP = 'run-canary';

export const CANARY_ENV = {
  stateMachineArn: 'STATE_MACHINE_ARN',
  /** The bucket the workflow serves: the canary's audio goes where a bot's would. */
  bucket: 'TRANSCRIPTION_BUCKET',
  inputPrefix: 'INPUT_PREFIX',
  /** Where the bundled sample lies (the CDK asset): copied from there for each run. */
  sampleBucket: 'CANARY_SAMPLE_BUCKET',
  sampleKey: 'CANARY_SAMPLE_KEY',
} as const;

export interface CanarySettings {
  stateMachineArn: string;
  bucket: string;
  inputPrefix: string;
  sampleBucket: string;
  sampleKey: string;
}

export function loadCanarySettings(env: Record<string, string | undefined> = process.env): CanarySettings {
  return {
    stateMachineArn: requiredEnv(env, CANARY_ENV.stateMachineArn),
    bucket: requiredEnv(env, CANARY_ENV.bucket),
    inputPrefix: requiredEnv(env, CANARY_ENV.inputPrefix),
    sampleBucket: requiredEnv(env, CANARY_ENV.sampleBucket),
    sampleKey: requiredEnv(env, CANARY_ENV.sampleKey),
  };
}
