/**
 * The intake queue (`intakeQueue=true`): absent by default; with it, an encrypted TLS-only queue
 * and dead letter queue, the start-execution Lambda behind an event source mapping that bounds the
 * start rate, exactly the grants it and the bot need, the alarms, the outputs — and cdk-nag clean
 * alone and beside the other options.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { loadIntakeQueueConfig } from '../../../cdk/config.js';
import {
  type CfnTemplate,
  logicalId,
  nagReport,
  permissionsOf,
  recordedAcknowledgements,
  resourcesOfType,
  roleOf,
  type Statement,
  type Synthesized,
  statementLines,
  synth,
} from '../synth.js';

const INTAKE = { intakeQueue: 'true' };
const NAME = 'wisevoice-transcription-dev-start-execution';

const LOGS_AND_XRAY = [
  'logs:CreateLogStream <log-group.Arn>',
  'logs:CreateLogStream arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<log-group>',
  'logs:PutLogEvents <log-group.Arn>',
  'logs:PutLogEvents arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<log-group>',
  'xray:PutTelemetryRecords *',
  'xray:PutTraceSegments *',
];

/** The one queue whose logical id is `prefix` plus CDK's 8-character hash. */
function queueOf(json: CfnTemplate, prefix: string): string {
  const ids = resourcesOfType(json, 'AWS::SQS::Queue')
    .map(([id]) => id)
    .filter((id) => new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id));
  if (ids.length !== 1) throw new Error(`Expected one queue ${prefix}, found ${ids.length}`);
  return ids[0] as string;
}

function intakeFunction(json: CfnTemplate) {
  const id = logicalId(json, 'AWS::Lambda::Function', (r) => r.Properties.FunctionName === NAME);
  return { id, props: json.Resources[id]?.Properties as Record<string, unknown> };
}

function aliases(json: CfnTemplate): Record<string, string> {
  const { props } = intakeFunction(json);
  const result: Record<string, string> = {
    [queueOf(json, 'IntakeQueue')]: 'intake-queue',
    [queueOf(json, 'IntakeDeadLetterQueue')]: 'intake-dlq',
    [logicalId(json, 'AWS::StepFunctions::StateMachine')]: 'state-machine',
    [(props.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref]: 'log-group',
  };
  const keys = resourcesOfType(json, 'AWS::KMS::Key');
  if (keys.length === 1) result[(keys[0] as [string, unknown])[0]] = 'key';
  return result;
}

/** The bot policy's `action resource` lines, named by `aliases` when the stack has the intake queue. */
function botPolicyLines(json: CfnTemplate, named = true): string[] {
  const [, policy] = resourcesOfType(json, 'AWS::IAM::ManagedPolicy')[0] ?? [];
  const document = policy?.Properties.PolicyDocument as { Statement: Statement[] };
  return statementLines(document.Statement, named ? aliases(json) : {});
}

function alarmsByName(json: CfnTemplate): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    resourcesOfType(json, 'AWS::CloudWatch::Alarm').map(([, r]) => [
      String(r.Properties.AlarmName),
      r.Properties,
    ]),
  );
}

describe('the intake queue', () => {
  it('is off by default: no queue, no Lambda, no mapping, no alarms, no outputs, no bot grant', () => {
    const { json } = synth();

    expect(Object.keys(json.Resources).filter((id) => id.startsWith('Intake'))).toEqual([]);
    expect(resourcesOfType(json, 'AWS::Lambda::EventSourceMapping')).toEqual([]);
    expect(Object.keys(alarmsByName(json)).filter((n) => n.includes('Intake'))).toEqual([]);
    expect(Object.keys(json.Outputs ?? {}).filter((k) => k.startsWith('Intake'))).toEqual([]);
    expect(JSON.stringify(json.Outputs?.BotEnvironment)).not.toContain('INTAKE');
    expect(botPolicyLines(json, false).filter((l) => l.startsWith('sqs:SendMessage'))).toEqual([]);
  });

  describe('with intakeQueue=true', () => {
    let on: Synthesized;
    let queueId: string;
    let dlqId: string;
    beforeAll(() => {
      on = synth(INTAKE);
      queueId = queueOf(on.json, 'IntakeQueue');
      dlqId = queueOf(on.json, 'IntakeDeadLetterQueue');
    });

    it('encrypts both queues with SQS keys, TLS only, and dead-letters after five receives', () => {
      expect(on.json.Resources[queueId]?.Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 4 * 24 * 3600,
        // Six times the consumer's 30 s timeout (AWS's rule for a Lambda consumer).
        VisibilityTimeout: 180,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 5 },
      });
      expect(on.json.Resources[dlqId]?.Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
      });
      for (const id of [queueId, dlqId]) {
        on.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [{ Ref: id }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            ]),
          },
        });
      }
    });

    it('maps the queue to the start-execution Lambda: batches of 10, no window, 2 at most, partial failures', () => {
      const mappings = resourcesOfType(on.json, 'AWS::Lambda::EventSourceMapping').map(
        ([, r]) => r.Properties,
      );

      expect(mappings).toHaveLength(1);
      expect(mappings[0]).toMatchObject({
        EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
        FunctionName: { Ref: intakeFunction(on.json).id },
        BatchSize: 10,
        ScalingConfig: { MaximumConcurrency: 2 },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
      expect(mappings[0]).not.toHaveProperty('MaximumBatchingWindowInSeconds');
      expect(
        resourcesOfType(
          synth({ ...INTAKE, intakeMaxConcurrency: '25' }).json,
          'AWS::Lambda::EventSourceMapping',
        )[0]?.[1].Properties.ScalingConfig,
      ).toEqual({ MaximumConcurrency: 25 });
    });

    it('builds the Lambda like every other step, with the state machine and the dead letter queue', () => {
      const { props } = intakeFunction(on.json);

      expect(props).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Timeout: 30,
        Environment: {
          Variables: {
            POWERTOOLS_SERVICE_NAME: 'transcription-dev',
            TRANSCRIPTION_BUCKET: { Ref: logicalId(on.json, 'AWS::S3::Bucket') },
            INPUT_PREFIX: 'transcription/',
            STATE_MACHINE_ARN: { Ref: logicalId(on.json, 'AWS::StepFunctions::StateMachine') },
            INTAKE_DEAD_LETTER_QUEUE_URL: { Ref: dlqId },
          },
        },
      });
    });

    it('gives the Lambda exactly: start and describe on this state machine, poll the queue, send to its dead letter queue', () => {
      const { props } = intakeFunction(on.json);

      expect(permissionsOf(on.json, roleOf(props), aliases(on.json))).toEqual(
        [
          ...LOGS_AND_XRAY,
          'sqs:DeleteMessage <intake-queue.Arn>',
          'sqs:GetQueueAttributes <intake-queue.Arn>',
          'sqs:ReceiveMessage <intake-queue.Arn>',
          'sqs:SendMessage <intake-dlq.Arn>',
          'states:DescribeExecution arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<state-machine.Name>:*',
          'states:StartExecution <state-machine>',
        ].sort(),
      );
    });

    it('lets the bot send to the queue, and nothing more on it', () => {
      const lines = botPolicyLines(on.json).filter((l) => l.includes('intake'));

      expect(lines).toEqual(['sqs:SendMessage <intake-queue.Arn>']);
    });

    it('alarms on a dead letter and on a backlog, and on the Lambda', () => {
      const byName = alarmsByName(on.json);

      expect(byName['wisevoice-transcription-dev-IntakeDeadLetters']).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
        Statistic: 'Maximum',
        Threshold: 1,
        AlarmActions: [{ Ref: logicalId(on.json, 'AWS::SNS::Topic') }],
      });
      expect(byName['wisevoice-transcription-dev-IntakeQueueBacklog']).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateAgeOfOldestMessage',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
        Threshold: 600,
      });
      expect(byName['wisevoice-transcription-dev-StartExecutionErrors']).toMatchObject({
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: intakeFunction(on.json).id } }],
      });
    });

    it('publishes the queue for the bot, also in BotEnvironment', () => {
      expect(on.json.Outputs?.IntakeQueueUrl?.Value).toEqual({ Ref: queueId });
      expect(on.json.Outputs?.IntakeQueueArn?.Value).toEqual({ 'Fn::GetAtt': [queueId, 'Arn'] });
      expect(JSON.stringify(on.json.Outputs?.BotEnvironment?.Value)).toContain(
        JSON.stringify([' TRANSCRIPTION_INTAKE_QUEUE_URL=', { Ref: queueId }]).slice(1, -1),
      );
    });
  });

  describe('with intakeQueue=true and kms=true', () => {
    let kms: Synthesized;
    beforeAll(() => {
      kms = synth({ ...INTAKE, kms: 'true' });
    });

    it('encrypts both queues with the stack key', () => {
      const keyId = logicalId(kms.json, 'AWS::KMS::Key');

      for (const prefix of ['IntakeQueue', 'IntakeDeadLetterQueue']) {
        expect(kms.json.Resources[queueOf(kms.json, prefix)]?.Properties).toMatchObject({
          KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
        });
      }
    });

    it('lets the Lambda and the bot use the key through SQS only', () => {
      const { props } = intakeFunction(kms.json);
      const viaSqs = (a: string) =>
        `${a} <key.Arn> if {"StringEquals":{"kms:ViaService":"sqs.<AWS::Region>.amazonaws.com"}}`;
      const keyLines = (lines: string[]) => lines.filter((l) => l.startsWith('kms:'));

      expect(keyLines(permissionsOf(kms.json, roleOf(props), aliases(kms.json)))).toEqual(
        ['kms:Decrypt', 'kms:GenerateDataKey'].map(viaSqs),
      );
      expect(keyLines(botPolicyLines(kms.json)).filter((l) => l.includes('sqs.'))).toEqual(
        // Decrypt is the completion queue consumer's grant too (CDK merges the two statements).
        ['kms:Decrypt', 'kms:GenerateDataKey'].map(viaSqs),
      );
    });
  });

  describe('cdk-nag', () => {
    it.each([
      ['alone', INTAKE],
      [
        'with prod, kms, webhook delivery, no completion queue and an alarm e-mail',
        {
          ...INTAKE,
          environment: 'prod',
          kms: 'true',
          transcriptDelivery: 'webhook',
          completionQueue: 'false',
          alarmEmail: 'ops@example.com',
        },
      ],
      [
        'with an existing KMS bucket and key',
        {
          ...INTAKE,
          existingBucketName: 'team-audio',
          kms: 'true',
          existingKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        },
      ],
    ])('leaves no finding unacknowledged %s, and acknowledges only real findings', (_name, context) => {
      const result = synth(context);
      const report = nagReport(result);
      const used = new Set(
        (report.suppressedViolations ?? []).map((v) => `(${v.acknowledgedAt}) ${v.acknowledgedId}`),
      );

      expect(
        report.violations.map((v) => `${v.ruleName} ${v.violatingConstructs[0]?.constructPath}`),
      ).toEqual([]);
      expect(report.conclusion).toBe('success');
      expect(recordedAcknowledgements(result.app).filter((a) => !used.has(a))).toEqual([]);
      // The intake adds no new kind of finding: its only ones are X-Ray's "*" and DescribeExecution's "{stateMachine}:*".
      expect(
        [
          ...new Set(
            (report.suppressedViolations ?? [])
              .filter((v) => v.violatingConstructs.some((c) => c.constructPath.includes('/Intake/')))
              .map((v) => v.ruleName.replace(/<WorkflowStateMachine\w+\.Name>/, '<state-machine>')),
          ),
        ].sort(),
      ).toEqual([
        'AwsSolutions-IAM5[Resource::*]',
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<state-machine>:*]',
      ]);
    });
  });
});

describe('loadIntakeQueueConfig', () => {
  const load = (context: Record<string, unknown>) =>
    loadIntakeQueueConfig({ tryGetContext: (key) => context[key] });

  it('is off with a concurrency of 2 by default, and reads both keys', () => {
    expect(load({})).toEqual({ enabled: false, maxConcurrency: 2 });
    expect(load({ intakeQueue: 'true', intakeMaxConcurrency: '40' })).toEqual({
      enabled: true,
      maxConcurrency: 40,
    });
    expect(load({ intakeQueue: true, intakeMaxConcurrency: 1000 })).toEqual({
      enabled: true,
      maxConcurrency: 1000,
    });
  });

  it.each([
    [{ intakeQueue: 'yes' }, /intakeQueue/],
    [{ intakeMaxConcurrency: '1' }, /intakeMaxConcurrency.*2 to 1000/],
    [{ intakeMaxConcurrency: '1001' }, /intakeMaxConcurrency/],
    [{ intakeMaxConcurrency: '2.5' }, /intakeMaxConcurrency/],
  ])('stops the synth on %j', (context, message) => {
    expect(() => load(context)).toThrow(message);
  });
});
