/** Names shared by the release Lambda and the CDK construct that deploys it (no SDK imports). */
import { requiredEnv } from '../shared/config.js';

/** The Lambda's name (its folder, and the `step` dimension of its metrics). */
export const PROVISIONED_RELEASE_STEP = 'release-provisioned-concurrency';

export const PROVISIONED_RELEASE_ENV = {
  /** This deployment's stack ARN: the run waits until it is settled. */
  stackName: 'STACK_NAME',
  stateMachineArn: 'STATE_MACHINE_ARN',
  /** Comma-separated names of the functions with provisioned concurrency. */
  functionNames: 'PROVISIONED_FUNCTION_NAMES',
} as const;

export const PROVISIONED_RELEASE_METRICS = {
  /** Per run: old versions whose provisioned concurrency was removed. */
  released: 'ProvisionedConcurrencyReleased',
  /** Per run: old versions whose removal failed (still billed; retried). */
  failed: 'ProvisionedConcurrencyReleaseFailed',
} as const;

export interface ReleaseSettings {
  stackName: string;
  stateMachineArn: string;
  functionNames: string[];
}

export function loadReleaseSettings(env: Record<string, string | undefined> = process.env): ReleaseSettings {
  return {
    stackName: requiredEnv(env, PROVISIONED_RELEASE_ENV.stackName),
    stateMachineArn: requiredEnv(env, PROVISIONED_RELEASE_ENV.stateMachineArn),
    functionNames: requiredEnv(env, PROVISIONED_RELEASE_ENV.functionNames).split(','),
  };
}
