/** Alarms that page someone and the dashboard ops open first. */
import { Match } from 'aws-cdk-lib/assertions';
import {
  type CfnResource,
  functionOf,
  logicalId,
  resourcesOfType,
  STEPS,
  type Synthesized,
  synth,
} from '../synth.js';

function alarms(s: Synthesized): CfnResource['Properties'][] {
  return resourcesOfType(s.json, 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
}

describe('TranscriptionMonitoring', () => {
  let dev: Synthesized;
  let topicId: string;
  let stateMachineId: string;
  beforeAll(() => {
    dev = synth();
    topicId = logicalId(dev.json, 'AWS::SNS::Topic');
    stateMachineId = logicalId(dev.json, 'AWS::StepFunctions::StateMachine');
  });

  it.each([
    // A backstop behind SystemFailures: it counts users' own bad uploads too.
    ['ExecutionsFailed', 20, 900],
    ['ExecutionsTimedOut', 1, 300],
    ['ExecutionThrottled', 1, 300],
    ['ExecutionsAborted', 1, 300],
  ])('alarms on the state machine metric %s ≥ %d per %d s', (metricName, threshold, period) => {
    dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/States',
      MetricName: metricName,
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: stateMachineId } }],
      Statistic: 'Sum',
      Period: period,
      Threshold: threshold,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it.each(STEPS)('alarms on errors and throttles of the %s Lambda', (step) => {
    const fnId = functionOf(dev.json, step).id;
    const dimensions = [{ Name: 'FunctionName', Value: { Ref: fnId } }];

    dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: dimensions,
      Period: 900,
      Threshold: step === 'record-failure' ? 1 : 5,
    });
    dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Throttles',
      Dimensions: dimensions,
      Threshold: 1,
    });
  });

  it('alarms on the Powertools ProviderErrors metric of every step that calls AssemblyAI', () => {
    const provider = alarms(dev).find((a) => a.AlarmName === 'wisevoice-transcription-dev-ProviderErrors');
    const metrics = provider?.Metrics as {
      Id: string;
      Expression?: string;
      MetricStat?: {
        Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: string }[] };
      };
    }[];
    const inputs = metrics.filter((m) => m.MetricStat).map((m) => m.MetricStat?.Metric);

    expect(provider?.Threshold).toBe(5);
    expect(metrics.find((m) => m.Expression)?.Expression).toBe('FILL(p0, 0) + FILL(p1, 0)');
    expect(inputs).toEqual(
      ['submit-transcription', 'check-transcript'].map((step) => ({
        Namespace: 'Transcription',
        MetricName: 'ProviderErrors',
        Dimensions: [
          { Name: 'service', Value: 'transcription-dev' },
          { Name: 'step', Value: step },
        ],
      })),
    );
  });

  it('alarms on system failures only, with exactly the dimensions finalize-execution emits', () => {
    const system = alarms(dev).find((a) => a.AlarmName === 'wisevoice-transcription-dev-SystemFailures');

    expect(system).toMatchObject({
      Namespace: 'Transcription',
      MetricName: 'TranscriptionOutcome',
      Dimensions: [
        { Name: 'outcome', Value: 'system_error' },
        { Name: 'service', Value: 'transcription-dev' },
        { Name: 'step', Value: 'finalize-execution' },
      ],
      Statistic: 'Sum',
      Period: 900,
      Threshold: 3,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('sends every alarm and its recovery to the alarm topic', () => {
    const all = alarms(dev);

    // State machine (4), system failures, errors and throttles of each step and of
    // finalize-execution, provider errors, finalize dead letters, completion dead letters and
    // stalled consumer, and the sweeper's failing runs and failed deletes.
    expect(all).toHaveLength(4 + 1 + 2 * (STEPS.length + 1) + 1 + 1 + 2 + 2);
    for (const alarm of all) {
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.OKActions).toEqual([{ Ref: topicId }]);
      expect(String(alarm.AlarmDescription).length).toBeGreaterThan(20);
    }
  });

  it('requires TLS to publish to the topic and subscribes no one by default', () => {
    dev.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    dev.template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('subscribes the alarm e-mail from context', () => {
    const withEmail = synth({ alarmEmail: 'oncall@example.com' });

    withEmail.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
  });

  it('encrypts the topic with the stack key when kms=true, and lets CloudWatch use that key', () => {
    const kms = synth({ kms: 'true' });
    const keyId = logicalId(kms.json, 'AWS::KMS::Key');

    kms.template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
    kms.template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('shows executions, per-step Powertools metrics and Lambda health on the dashboard', () => {
    const [, dashboard] = resourcesOfType(dev.json, 'AWS::CloudWatch::Dashboard')[0] ?? [];
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);

    expect(dashboard?.Properties.DashboardName).toBe('wisevoice-transcription-dev');
    for (const metric of ['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionTime']) {
      expect(body).toContain(`\\"AWS/States\\",\\"${metric}\\"`);
    }
    for (const p of ['p50', 'p90', 'p99']) expect(body).toContain(`\\"stat\\":\\"${p}\\"`);
    for (const metric of ['StepSucceeded', 'StepFailed', 'StepDuration']) {
      for (const step of STEPS) {
        expect(body).toContain(
          `\\"Transcription\\",\\"${metric}\\",\\"service\\",\\"transcription-dev\\",\\"step\\",\\"${step}\\"`,
        );
      }
    }
    for (const metric of ['ProviderErrors', 'ProviderDeleteFailed', 'AudioSeconds', 'Segments']) {
      expect(body).toContain(metric);
    }
    for (const metric of ['Errors', 'Duration', 'Throttles'])
      expect(body).toContain(`\\"AWS/Lambda\\",\\"${metric}\\"`);
  });

  it('shows outcomes and time to result p50/p95 per audio-length bucket on the dashboard', () => {
    const [, dashboard] = resourcesOfType(dev.json, 'AWS::CloudWatch::Dashboard')[0] ?? [];
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    const dims = '\\"service\\",\\"transcription-dev\\",\\"step\\",\\"finalize-execution\\"';

    for (const outcome of ['completed', 'user_error', 'system_error']) {
      expect(body).toContain(
        `\\"Transcription\\",\\"TranscriptionOutcome\\",\\"outcome\\",\\"${outcome}\\",${dims}`,
      );
    }
    for (const bucket of ['under-30s', '30s-5m', '5m-30m', 'over-30m', 'unknown']) {
      expect(body).toContain(
        `\\"Transcription\\",\\"TimeToResult\\",\\"audio_length\\",\\"${bucket}\\",${dims}`,
      );
    }
    for (const p of ['p50', 'p95']) expect(body).toContain(`\\"stat\\":\\"${p}\\"`);
    expect(body).toContain('ApproximateAgeOfOldestMessage');
  });
});
