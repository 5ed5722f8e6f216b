/**
 * The finalizer: the rule on execution endings, its Lambda, its dead letter queue and alarm, its
 * grants, and the completion queue it sends one message per finished execution to.
 */
import { Match } from 'aws-cdk-lib/assertions';
import {
  type CfnTemplate,
  logicalId,
  permissionsOf,
  resourcesOfType,
  type Synthesized,
  synth,
} from '../synth.js';

const NAME = 'wisevoice-transcription-dev-finalize-execution';

/** The one queue whose logical id is `prefix` plus CDK's 8-character hash. */
function queueOf(json: CfnTemplate, prefix: string): string {
  const ids = resourcesOfType(json, 'AWS::SQS::Queue')
    .map(([id]) => id)
    .filter((id) => new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id));
  if (ids.length !== 1) throw new Error(`Expected one queue ${prefix}, found ${ids.length}`);
  return ids[0] as string;
}

function finalizeFunction(json: CfnTemplate) {
  const id = logicalId(json, 'AWS::Lambda::Function', (r) => r.Properties.FunctionName === NAME);
  return { id, props: json.Resources[id]?.Properties as Record<string, unknown> };
}

describe('ExecutionFinalizer', () => {
  let dev: Synthesized;
  let fnId: string;
  let queueId: string;
  let completionId: string;
  let completionDlqId: string;
  beforeAll(() => {
    dev = synth();
    fnId = finalizeFunction(dev.json).id;
    queueId = queueOf(dev.json, 'FinalizerDeadLetterQueue');
    completionId = queueOf(dev.json, 'FinalizerCompletionQueue');
    completionDlqId = queueOf(dev.json, 'FinalizerCompletionDeadLetterQueue');
  });

  it('forwards every ending of this state machine only, successes included', () => {
    dev.template.hasResourceProperties('AWS::Events::Rule', {
      State: 'ENABLED',
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [{ Ref: logicalId(dev.json, 'AWS::StepFunctions::StateMachine') }],
          status: ['SUCCEEDED', 'TIMED_OUT', 'ABORTED', 'FAILED'],
        },
      },
    });
  });

  it('targets the finalize Lambda with delivery retries and a dead letter queue', () => {
    const [, rule] = resourcesOfType(dev.json, 'AWS::Events::Rule')[0] ?? [];
    const targets = rule?.Properties.Targets as Record<string, unknown>[];

    expect(targets).toHaveLength(1);
    expect(targets[0]).toMatchObject({
      Arn: { 'Fn::GetAtt': [fnId, 'Arn'] },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
      RetryPolicy: { MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 86_400 },
    });
    dev.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
    });
  });

  it('sends invocations that still fail after two retries to the same queue', () => {
    dev.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fnId },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
  });

  it('keeps dead letters encrypted, TLS only, for 14 days', () => {
    expect(dev.json.Resources[queueId]?.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    dev.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
    });
  });

  it('alarms on the first dead letter', () => {
    const alarm = resourcesOfType(dev.json, 'AWS::CloudWatch::Alarm')
      .map(([, r]) => r.Properties)
      .find((a) => a.AlarmName === 'wisevoice-transcription-dev-FinalizeDeadLetters');

    expect(alarm).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      Threshold: 1,
      AlarmActions: [{ Ref: logicalId(dev.json, 'AWS::SNS::Topic') }],
    });
  });

  it('alarms on a single error of the finalize Lambda', () => {
    dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }],
      Threshold: 1,
    });
  });

  it('runs with the workflow configuration and the API key secret id, like the other steps', () => {
    const { props } = finalizeFunction(dev.json);

    expect(props).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: {
          POWERTOOLS_SERVICE_NAME: 'transcription-dev',
          RESULTS_PREFIX: 'results/',
          WORK_PREFIX: 'work/',
          ASSEMBLYAI_API_KEY_SECRET_ID: { Ref: logicalId(dev.json, 'AWS::SecretsManager::Secret') },
        },
      },
    });
  });

  it('may read and write results, read and delete work objects, describe executions and read the key', () => {
    const { props } = finalizeFunction(dev.json);
    const roleId = (props.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    const bucketId = logicalId(
      dev.json,
      'AWS::S3::Bucket',
      (r) => r.Properties.BucketName === 'wisevoice-transcription-dev',
    );
    const stateMachineId = logicalId(dev.json, 'AWS::StepFunctions::StateMachine');
    const logGroupId = (props.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    const permissions = permissionsOf(dev.json, roleId, {
      [bucketId]: 'bucket',
      [stateMachineId]: 'state-machine',
      [logicalId(dev.json, 'AWS::SecretsManager::Secret')]: 'secret',
      [queueId]: 'queue',
      [completionId]: 'completion-queue',
      [logGroupId]: 'log-group',
    });

    expect(permissions.filter((p) => !/^(logs|xray):/.test(p))).toEqual(
      [
        's3:GetObject <bucket.Arn>/results/*',
        's3:PutObject <bucket.Arn>/results/*',
        's3:GetObject <bucket.Arn>/work/*',
        's3:DeleteObject <bucket.Arn>/work/*',
        's3:ListBucket <bucket.Arn>',
        'secretsmanager:GetSecretValue <secret>',
        'states:DescribeExecution arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<state-machine.Name>:*',
        // The failed-invocation destination (granted by CDK's SqsDestination).
        'sqs:GetQueueAttributes <queue.Arn>',
        'sqs:GetQueueUrl <queue.Arn>',
        'sqs:SendMessage <queue.Arn>',
        'sqs:SendMessage <completion-queue.Arn>',
      ].sort(),
    );
  });

  describe('completion queue', () => {
    it('is encrypted, TLS only, keeps messages 4 days and dead-letters after 5 receives into a 14-day queue', () => {
      expect(dev.json.Resources[completionId]?.Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 4 * 24 * 3600,
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [completionDlqId, 'Arn'] },
          maxReceiveCount: 5,
        },
      });
      expect(dev.json.Resources[completionDlqId]?.Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
      });
      for (const id of [completionId, completionDlqId]) {
        dev.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [{ Ref: id }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            ]),
          },
        });
      }
    });

    it('is handed to the finalize Lambda as COMPLETION_QUEUE_URL', () => {
      const { props } = finalizeFunction(dev.json);

      expect(props).toMatchObject({
        Environment: { Variables: { COMPLETION_QUEUE_URL: { Ref: completionId } } },
      });
    });

    it('alarms on a dead-lettered message and on a stalled consumer', () => {
      const byName = Object.fromEntries(
        resourcesOfType(dev.json, 'AWS::CloudWatch::Alarm').map(([, r]) => [
          r.Properties.AlarmName,
          r.Properties,
        ]),
      );

      expect(byName['wisevoice-transcription-dev-CompletionDeadLetters']).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [completionDlqId, 'QueueName'] } }],
        Threshold: 1,
      });
      expect(byName['wisevoice-transcription-dev-CompletionQueueStalled']).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateAgeOfOldestMessage',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [completionId, 'QueueName'] } }],
        Statistic: 'Maximum',
        Threshold: 900,
      });
    });

    it('uses the stack key with kms=true, and lets the Lambda use it through SQS only', () => {
      const kms = synth({ kms: 'true' });
      const keyId = logicalId(kms.json, 'AWS::KMS::Key');
      const queue = queueOf(kms.json, 'FinalizerCompletionQueue');
      const dlq = queueOf(kms.json, 'FinalizerCompletionDeadLetterQueue');
      const { props } = finalizeFunction(kms.json);
      const roleId = (props.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];

      for (const id of [queue, dlq]) {
        expect(kms.json.Resources[id]?.Properties).toMatchObject({
          KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
        });
      }
      expect(
        permissionsOf(kms.json, roleId, { [keyId]: 'key' }).filter((p) => p.includes('sqs.<AWS::Region>')),
      ).toEqual(
        ['kms:Decrypt', 'kms:GenerateDataKey'].map(
          (a) => `${a} <key.Arn> if {"StringEquals":{"kms:ViaService":"sqs.<AWS::Region>.amazonaws.com"}}`,
        ),
      );
    });

    it('is absent with completionQueue=false: no queue, no URL, no alarms, no outputs', () => {
      const off = synth({ completionQueue: 'false' });
      const names = resourcesOfType(off.json, 'AWS::CloudWatch::Alarm').map(
        ([, r]) => r.Properties.AlarmName,
      );
      const { props } = finalizeFunction(off.json);

      expect(resourcesOfType(off.json, 'AWS::SQS::Queue')).toHaveLength(1);
      expect(JSON.stringify(props.Environment)).not.toContain('COMPLETION_QUEUE_URL');
      expect(names.filter((n) => String(n).includes('Completion'))).toEqual([]);
      expect(off.json.Outputs?.CompletionQueueUrl).toBeUndefined();
      // The rule still forwards successes: the outcome metrics need every ending.
      off.template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: { detail: { status: ['SUCCEEDED', 'TIMED_OUT', 'ABORTED', 'FAILED'] } },
      });
    });
  });
});
