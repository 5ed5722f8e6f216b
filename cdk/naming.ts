/** Resource names in one place, so the console, the dashboard and the docs say the same thing. */
import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { IConstruct } from 'constructs';

/** `wisevoice-transcription-{environment}`: the prefix of every named resource. */
export function namePrefix(environment: string): string {
  return `wisevoice-transcription-${environment}`;
}

/**
 * `{name}-{region}`: a name that must be unique across regions (stack ids, bucket names) when the
 * app deploys to several (`-c regions=…`). Throws, naming `key`, when the result is too long for S3.
 */
export function regionalName(name: string, region: string, key = 'bucketName'): string {
  const regional = `${name}-${region}`;
  if (regional.length > 63) {
    throw new Error(`Context "${key}": "${regional}" (with the region suffix) is longer than 63 characters`);
  }
  return regional;
}

/** `validate-audio` → `ValidateAudio`, for construct ids. */
export function pascalCase(kebab: string): string {
  return kebab.replace(/(^|-)([a-z0-9])/g, (_match, _dash, c: string) => c.toUpperCase());
}

/** `arn:…:execution:{stateMachine}:*`: every execution of this state machine, and no other's. */
export function executionsArn(
  scope: IConstruct,
  stateMachine: IStateMachine & { stateMachineName: string },
): string {
  return Arn.format(
    {
      service: 'states',
      resource: 'execution',
      resourceName: `${stateMachine.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    },
    Stack.of(scope),
  );
}
