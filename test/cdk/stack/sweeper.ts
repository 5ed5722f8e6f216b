/** The transcript sweeper: its schedule, its bound against the execution timeout, its environment and grants, its alarms. */
import { App, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { loadDeploymentConfig } from '../../../cdk/config.js';
import { TranscriptSweeper } from '../../../cdk/constructs/transcript-sweeper.js';
import { configureApp } from '../../../cdk/transcription-app.js';
import {
  type CfnResource,
  type CfnTemplate,
  functionNamed,
  logicalId,
  permissionsOf,
  resourcesOfType,
  roleOf,
  type Synthesized,
  synth,
} from '../synth.js';

const NAME = 'wisevoice-transcription-dev-sweep-transcripts';

function sweeperFunction(json: CfnTemplate) {
  return functionNamed(json, NAME);
}

function sweeperOf(json: CfnTemplate) {
  const fn = sweeperFunction(json);
  if (!fn) throw new Error('No sweeper function');
  return { ...fn, env: (fn.props.Environment as { Variables: Record<string, unknown> }).Variables };
}

function scheduleRules(json: CfnTemplate): CfnResource['Properties'][] {
  return resourcesOfType(json, 'AWS::Events::Rule')
    .map(([, r]) => r.Properties)
    .filter((p) => p.ScheduleExpression !== undefined);
}

function executionTimeoutOf(json: CfnTemplate): number {
  const id = logicalId(json, 'AWS::StepFunctions::StateMachine');
  return JSON.parse(String(json.Resources[id]?.Properties.DefinitionString)).TimeoutSeconds as number;
}

/** An alarm's single metric, whether CloudFormation has it inline or as a one-entry `Metrics` list. */
function alarmMetric(alarm: CfnResource['Properties']) {
  const [entry] = (alarm.Metrics ?? []) as {
    MetricStat: { Metric: Record<string, unknown>; Period: number; Stat: string };
  }[];
  if (entry)
    return { ...entry.MetricStat.Metric, Period: entry.MetricStat.Period, Statistic: entry.MetricStat.Stat };
  const { Namespace, MetricName, Dimensions, Period, Statistic } = alarm;
  return { Namespace, MetricName, Dimensions, Period, Statistic };
}

describe('TranscriptSweeper', () => {
  let dev: Synthesized;
  beforeAll(() => {
    dev = synth();
  });

  it('runs every hour on a schedule rule whose only target is the sweeper Lambda', () => {
    const { id } = sweeperOf(dev.json);
    const rules = scheduleRules(dev.json);

    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({ ScheduleExpression: 'rate(1 hour)', State: 'ENABLED' });
    expect(rules[0]?.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [id, 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 1800 },
      }),
    ]);
    dev.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [id, 'Arn'] },
    });
  });

  it('sweeps only jobs older than the state machine execution timeout, by a margin', () => {
    const timeout = executionTimeoutOf(dev.json);
    const bound = Number(sweeperOf(dev.json).env.SWEEP_MIN_AGE_SECONDS);

    expect(bound).toBeGreaterThanOrEqual(timeout + 15 * 60);
    expect(bound).toBeLessThan(timeout + 16 * 60);
    expect(bound % 60).toBe(0);
  });

  it('keeps the bound above the execution timeout when the poll deadline grows', () => {
    const longer = synth({ pollDeadlineBaseSeconds: '7200' });

    expect(Number(sweeperOf(longer.json).env.SWEEP_MIN_AGE_SECONDS)).toBeGreaterThan(
      executionTimeoutOf(longer.json),
    );
    expect(executionTimeoutOf(longer.json)).toBeGreaterThan(executionTimeoutOf(dev.json));
  });

  it('refuses to synthesize a bound below the execution timeout', () => {
    expect(() => synth({ transcriptSweepMinAgeSeconds: '3600' })).toThrow(
      /transcriptSweepMinAgeSeconds.*execution timeout/,
    );
  });

  it('refuses, in the construct itself, a bound below the execution timeout it is given', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = configureApp(app);
    const sweeperWithin = (id: string, minAge: Duration) =>
      new TranscriptSweeper(stack, id, {
        config: loadDeploymentConfig(app.node),
        storage: stack.storage,
        apiKey: stack.apiKey,
        logRetention: RetentionDays.ONE_MONTH,
        logRemovalPolicy: RemovalPolicy.DESTROY,
        executionTimeout: Duration.hours(8),
        minAge,
      });

    expect(() => sweeperWithin('TooEager', Duration.hours(7))).toThrow(/below the execution timeout/);
    expect(() => sweeperWithin('Patient', Duration.hours(8))).not.toThrow();
  });

  it('takes the interval and a longer bound from context', () => {
    const custom = synth({ transcriptSweepIntervalMinutes: '30', transcriptSweepMinAgeSeconds: '172800' });

    expect(scheduleRules(custom.json)[0]?.ScheduleExpression).toBe('rate(30 minutes)');
    expect(sweeperOf(custom.json).env.SWEEP_MIN_AGE_SECONDS).toBe('172800');
    expect(() => synth({ transcriptSweepIntervalMinutes: '5' })).toThrow(/transcriptSweepIntervalMinutes/);
  });

  it('is off when transcripts are kept at AssemblyAI, unless asked for', () => {
    const keeping = synth({ deleteTranscriptAfterPersist: 'false' });
    const keepingButSwept = synth({ deleteTranscriptAfterPersist: 'false', transcriptSweeper: 'true' });
    const off = synth({ transcriptSweeper: 'false' });

    expect(sweeperFunction(keeping.json)).toBeUndefined();
    expect(scheduleRules(keeping.json)).toEqual([]);
    expect(sweeperFunction(keepingButSwept.json)).toBeDefined();
    expect(sweeperFunction(off.json)).toBeUndefined();
  });

  it("knows this deployment's bucket and input prefix, the AssemblyAI endpoint and key, and its per-run limits", () => {
    const { env, props } = sweeperOf(dev.json);
    const bucketId = logicalId(
      dev.json,
      'AWS::S3::Bucket',
      (r) => r.Properties.BucketName === 'wisevoice-transcription-dev',
    );

    expect(props).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Timeout: 300,
      LoggingConfig: { LogFormat: 'JSON' },
    });
    expect(env).toMatchObject({
      TRANSCRIPTION_BUCKET: { Ref: bucketId },
      INPUT_PREFIX: 'transcription/',
      ASSEMBLYAI_BASE_URL: 'https://api.assemblyai.com',
      ASSEMBLYAI_TIMEOUT_MS: '10000',
      ASSEMBLYAI_API_KEY_SECRET_ID: { Ref: logicalId(dev.json, 'AWS::SecretsManager::Secret') },
      POWERTOOLS_SERVICE_NAME: 'transcription-dev',
      POWERTOOLS_METRICS_NAMESPACE: 'Transcription',
      SWEEP_LOOKBACK_SECONDS: String(3 * 24 * 3600),
      SWEEP_PAGE_SIZE: '200',
      SWEEP_MAX_PAGES: '50',
      SWEEP_MAX_DELETES: '500',
      SWEEP_TIME_BUDGET_SECONDS: '270',
    });
    expect(Number(env.SWEEP_TIME_BUDGET_SECONDS)).toBeLessThan(props.Timeout as number);
    expect(Object.keys(env).filter((n) => /API_KEY$/.test(n))).toEqual([]);
  });

  it('may read the API key and nothing else: no S3 access at all', () => {
    const { props } = sweeperOf(dev.json);
    const logGroupId = (props.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    const permissions = permissionsOf(dev.json, roleOf(props), {
      [logicalId(dev.json, 'AWS::SecretsManager::Secret')]: 'secret',
      [logGroupId]: 'log-group',
    });

    expect(permissions.filter((p) => !/^(logs|xray):/.test(p))).toEqual([
      'secretsmanager:GetSecretValue <secret>',
    ]);
    expect(permissions.filter((p) => p.startsWith('s3:'))).toEqual([]);
  });

  it('with kms=true, may decrypt the key through Secrets Manager only', () => {
    const kms = synth({ kms: 'true' });
    const { props } = sweeperOf(kms.json);
    const permissions = permissionsOf(kms.json, roleOf(props), {
      [logicalId(kms.json, 'AWS::KMS::Key')]: 'key',
    });

    expect(permissions.filter((p) => p.startsWith('kms:'))).toEqual([
      'kms:Decrypt <key.Arn> if {"StringEquals":{"kms:ViaService":"secretsmanager.<AWS::Region>.amazonaws.com"}}',
    ]);
    expect(permissions.filter((p) => p.startsWith('s3:'))).toEqual([]);
  });

  it('does not retry a failed run beside the next one', () => {
    dev.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: sweeperOf(dev.json).id },
      MaximumRetryAttempts: 0,
    });
  });

  it.each([
    ['TranscriptSweepFailing', 'AWS/Lambda', 'Errors'],
    ['TranscriptSweepDeleteFailed', 'Transcription', 'SweepDeleteFailed'],
  ])('raises %s after three runs in a row with %s %s', (name, namespace, metricName) => {
    const alarm = resourcesOfType(dev.json, 'AWS::CloudWatch::Alarm')
      .map(([, r]) => r.Properties)
      .find((a) => a.AlarmName === `wisevoice-transcription-dev-${name}`);
    const dimensions =
      namespace === 'AWS/Lambda'
        ? [{ Name: 'FunctionName', Value: { Ref: sweeperOf(dev.json).id } }]
        : [
            { Name: 'service', Value: 'transcription-dev' },
            { Name: 'step', Value: 'sweep-transcripts' },
          ];

    expect(alarm && alarmMetric(alarm)).toEqual({
      Namespace: namespace,
      MetricName: metricName,
      Dimensions: dimensions,
      Statistic: 'Sum',
      Period: 3600,
    });
    expect(alarm).toMatchObject({
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Threshold: 1,
      AlarmActions: [{ Ref: logicalId(dev.json, 'AWS::SNS::Topic') }],
    });
  });
});
