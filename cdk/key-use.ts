/**
 * The one shape of every KMS grant in the stack: these actions on this key, only when the call
 * comes through this service in the stack's region (`kms:ViaService`), so a role that may read a
 * queue, an object or a secret cannot use the key for anything else.
 */
import { Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IConstruct } from 'constructs';

export function keyUseThrough(
  scope: IConstruct,
  key: IKey,
  service: 's3' | 'sqs' | 'secretsmanager',
  actions: string[],
): PolicyStatement {
  return new PolicyStatement({
    effect: Effect.ALLOW,
    actions,
    resources: [key.keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `${service}.${Stack.of(scope).region}.amazonaws.com` } },
  });
}

/** Reading a secret: GetSecretValue on it, and Decrypt through Secrets Manager when our key encrypts it. */
export function secretReadStatements(scope: IConstruct, secretArn: string, key?: IKey): PolicyStatement[] {
  return [
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['secretsmanager:GetSecretValue'],
      resources: [secretArn],
    }),
    ...(key ? [keyUseThrough(scope, key, 'secretsmanager', ['kms:Decrypt'])] : []),
  ];
}
