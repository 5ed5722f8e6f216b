/**
 * cdk-nag AwsSolutions runs in every synth (tests included, through `configureApp`). These tests
 * pin what that means: no unacknowledged finding in any supported configuration, every
 * acknowledgement has a reason and matches a real finding, and the check really fails a synth.
 */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { PROJECT_ROOT } from '../../../cdk/paths.js';
import { configureApp } from '../../../cdk/transcription-app.js';
import { nagReport, recordedAcknowledgements, type Synthesized, synth, type Violation } from '../synth.js';

const CONFIGURATIONS: Record<string, Record<string, unknown>> = {
  'dev defaults': {},
  'prod with kms, access logs and an alarm e-mail': {
    environment: 'prod',
    kms: 'true',
    alarmEmail: 'ops@example.com',
  },
  'an existing bucket and secret by name': {
    existingBucketName: 'team-audio',
    existingSecretName: 'team/assemblyai',
  },
  'an existing KMS bucket and a secret by ARN': {
    existingBucketName: 'team-audio',
    kms: 'true',
    existingKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    existingSecretName: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/assemblyai-AbCdEf',
    assemblyaiRegion: 'eu',
  },
  'webhook delivery with kms': { transcriptDelivery: 'webhook', kms: 'true' },
  'a created VPC in prod with kms, webhook delivery, the intake queue and provisioned concurrency': {
    vpc: 'create',
    environment: 'prod',
    kms: 'true',
    transcriptDelivery: 'webhook',
    intakeQueue: 'true',
    provisionedConcurrency: 'submit-transcription:1',
    canary: 'rate(15 minutes)',
  },
  'the live canary alone': { canary: 'rate(1 hour)' },
};

describe('cdk-nag AwsSolutions', () => {
  describe.each(Object.entries(CONFIGURATIONS))('with %s', (_name, context) => {
    let result: Synthesized;
    let suppressed: Violation[];
    beforeAll(() => {
      result = synth(context);
      suppressed = nagReport(result).suppressedViolations ?? [];
    });

    it('leaves no finding unacknowledged', () => {
      const report = nagReport(result);

      expect(
        report.violations.map((v) => `${v.ruleName} ${v.violatingConstructs[0]?.constructPath}`),
      ).toEqual([]);
      expect(report.conclusion).toBe('success');
    });

    it('gives every acknowledgement a reason of at least one sentence', () => {
      expect(suppressed.length).toBeGreaterThan(0);
      for (const violation of suppressed) {
        expect(violation.acknowledgedId).toMatch(/^AwsSolutions::AwsSolutions-/);
        expect(violation.reason?.length ?? 0).toBeGreaterThanOrEqual(60);
      }
    });

    it('acknowledges nothing that is not a finding', () => {
      const used = new Set(suppressed.map((v) => `(${v.acknowledgedAt}) ${v.acknowledgedId}`));

      expect(recordedAcknowledgements(result.app).filter((a) => !used.has(a))).toEqual([]);
    });
  });

  it('acknowledges only these findings', () => {
    const findings = new Set(
      Object.values(CONFIGURATIONS).flatMap((context) =>
        (nagReport(synth(context)).suppressedViolations ?? []).map((v) =>
          v.ruleName
            .replace(/<StorageBucket\w+\.Arn>|arn:<AWS::Partition>:s3:::team-audio/, '<bucket>')
            .replace(/<WorkflowStateMachine\w+\.Name>/, '<state-machine>')
            .replace(/<Steps\w+Function\w+\.Arn>:\*/, '<step-function>:*'),
        ),
      ),
    );

    expect([...findings].sort()).toEqual(
      [
        // X-Ray (Lambdas, state machine) and CloudWatch Logs delivery (state machine) have no resource ARNs.
        'AwsSolutions-IAM5[Resource::*]',
        // Per-prefix object grants: keys are per user, file and execution.
        'AwsSolutions-IAM5[Resource::<bucket>/results/*]',
        'AwsSolutions-IAM5[Resource::<bucket>/transcription/*]',
        // The live canary writes only its own user's canary-* audio keys, one per run.
        'AwsSolutions-IAM5[Resource::<bucket>/transcription/9007199254740991/canary-*]',
        'AwsSolutions-IAM5[Resource::<bucket>/work/*]',
        // The state machine invokes every version of its step functions (executions keep theirs).
        'AwsSolutions-IAM5[Resource::<step-function>:*]',
        // The bot's and the finalizer's DescribeExecution on this state machine's executions.
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<state-machine>:*]',
        // Dev bucket without server access logs.
        'AwsSolutions-S1',
        // Execution logs at ERROR without execution data.
        'AwsSolutions-SF1',
        // No rotation Lambda for a key issued by AssemblyAI.
        'AwsSolutions-SMG4',
        // The finalizer's dead letter queue has no dead letter queue of its own.
        'AwsSolutions-SQS3',
      ].sort(),
    );
  });

  it('fails the synth on an unacknowledged finding', () => {
    const context = JSON.parse(readFileSync(`${PROJECT_ROOT}cdk.json`, 'utf8')).context;
    const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
    const stack = configureApp(app);
    new Bucket(stack, 'CarelessBucket');

    expect(() => app.synth()).toThrow(/AwsSolutions-S1/);
  });
});
