/** Resource names in one place, so the console, the dashboard and the docs say the same thing. */
import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { IConstruct } from 'constructs';

/** `wisevoice-transcription-{environment}`: the prefix of every named resource. */
export function namePrefix(environment: string): string {
  return `wisevoice-transcription-${environment}`;
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
