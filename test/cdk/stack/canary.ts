/**
 * The live canary (`canary=rate(…)`): a schedule that invokes run-canary with the bundled sample
 * as an asset, a role that may write only the canary's audio keys, read only that asset and start
 * only this state machine, and an alarm that breaches when no canary run completes, on exactly the
 * metric and dimensions the finalizer emits.
 */
import { readFileSync } from 'node:fs';
import { CANARY_SAMPLE_AUDIO } from '../../../cdk/paths.js';
import { functionNamed, permissionsOf, resourcesOfType, roleOf, synth } from '../synth.js';

const CANARY_NAME = 'wisevoice-transcription-dev-run-canary';
const FINALIZER_NAME = 'wisevoice-transcription-dev-finalize-execution';

function canaryOf(json: ReturnType<typeof synth>['json']) {
  const fn = functionNamed(json, CANARY_NAME);
  if (!fn) throw new Error('no canary function');
  return fn;
}

interface AlarmMetric {
  Namespace?: string;
  MetricName?: string;
  Stat?: string;
  Period?: number;
  Dimensions?: { Name: string; Value: unknown }[];
}

/** The alarm's one metric, whether rendered flat or (with a label) as a metric data query. */
function metricOf(alarm: Record<string, unknown> | undefined): AlarmMetric {
  if (!alarm) throw new Error('no alarm');
  const queries = alarm.Metrics as
    | { MetricStat?: { Metric: AlarmMetric; Stat: string; Period: number } }[]
    | undefined;
  const stat = queries?.[0]?.MetricStat;
  if (stat) return { ...stat.Metric, Stat: stat.Stat, Period: stat.Period };
  return {
    Namespace: alarm.Namespace as string,
    MetricName: alarm.MetricName as string,
    Stat: alarm.Statistic as string,
    Period: alarm.Period as number,
    Dimensions: alarm.Dimensions as AlarmMetric['Dimensions'],
  };
}

describe('the live canary', () => {
  it('is off by default: no canary function, schedule or alarm', () => {
    const { json } = synth();

    expect(functionNamed(json, CANARY_NAME)).toBeUndefined();
    const alarms = resourcesOfType(json, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties.AlarmName);
    expect(alarms.filter((name) => String(name).includes('Canary'))).toEqual([]);
  });

  it('runs on the given schedule, with the bundled sample shipped as an asset', () => {
    const { json, assemblyDirectory } = synth({ canary: 'rate(15 minutes)' });
    const canary = canaryOf(json);

    const rules = resourcesOfType(json, 'AWS::Events::Rule').filter(([, rule]) =>
      ((rule.Properties.Targets ?? []) as { Arn: unknown }[]).some(
        (t) => JSON.stringify(t.Arn) === JSON.stringify({ 'Fn::GetAtt': [canary.id, 'Arn'] }),
      ),
    );
    expect(rules.map(([, r]) => r.Properties.ScheduleExpression)).toEqual(['rate(15 minutes)']);
    const variables = (canary.props.Environment as { Variables: Record<string, unknown> }).Variables;
    const sampleKey = String(variables.CANARY_SAMPLE_KEY);
    // The object the Lambda copies is the sample's bytes, staged by the synth for upload.
    const staged = readFileSync(`${assemblyDirectory}/asset.${sampleKey}`);
    expect(staged.equals(readFileSync(CANARY_SAMPLE_AUDIO))).toBe(true);
    expect(variables).toMatchObject({ INPUT_PREFIX: 'transcription/' });
  });

  it('may write only the canary user’s canary-* audio, read only the sample and start only this state machine', () => {
    const { json } = synth({ canary: 'rate(15 minutes)', kms: 'true' });
    const canary = canaryOf(json);
    const machineId = resourcesOfType(json, 'AWS::StepFunctions::StateMachine')[0]?.[0] ?? '';
    const sampleKey = String(
      (canary.props.Environment as { Variables: Record<string, unknown> }).Variables.CANARY_SAMPLE_KEY,
    );

    const permissions = permissionsOf(json, roleOf(canary.props), { [machineId]: 'machine' }).filter(
      (p) => !/^(logs|xray):/.test(p),
    );

    expect(permissions).toEqual([
      expect.stringMatching(/^kms:GenerateDataKey <StorageKey\w+\.Arn> if .*"kms:ViaService":"s3\./),
      `s3:GetObject arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/${sampleKey}`,
      expect.stringMatching(
        /^s3:PutObject <StorageBucket\w+\.Arn>\/transcription\/9007199254740991\/canary-\*$/,
      ),
      'states:StartExecution <machine>',
    ]);
  });

  it('alarms when two intervals in a row pass without a completed run, on the finalizer’s CanaryCompleted', () => {
    const { json } = synth({ canary: 'rate(15 minutes)' });
    const finalizer = functionNamed(json, FINALIZER_NAME);
    const service = ((finalizer?.props.Environment ?? {}) as { Variables: Record<string, unknown> }).Variables
      .POWERTOOLS_SERVICE_NAME;

    const [alarm, ...more] = resourcesOfType(json, 'AWS::CloudWatch::Alarm')
      .map(([, a]) => a.Properties)
      .filter((a) => a.AlarmName === 'wisevoice-transcription-dev-CanaryNotCompleting');

    expect(more).toEqual([]);
    const metric = metricOf(alarm);
    expect(metric).toMatchObject({
      Namespace: 'Transcription',
      MetricName: 'CanaryCompleted',
      Stat: 'Sum',
      Period: 900,
    });
    expect(alarm).toMatchObject({
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    // Exactly the finalizer's default dimensions: its service and its step.
    expect(metric.Dimensions).toEqual(
      expect.arrayContaining([
        { Name: 'service', Value: service },
        { Name: 'step', Value: 'finalize-execution' },
      ]),
    );
    expect(metric.Dimensions).toHaveLength(2);
    expect(alarm?.AlarmActions).toHaveLength(1);
  });

  it.each([
    ['cron(0/15 * * * ? *)', /rate expression/],
    ['rate(15 minute)', /rate expression/],
    ['rate(1 minutes)', /rate expression/],
    ['rate(0 minutes)', /rate expression/],
    ['rate(1 minute)', /between every 5 minutes and every 12 hours/],
    ['rate(13 hours)', /between every 5 minutes and every 12 hours/],
  ])('refuses canary=%s', (schedule, message) => {
    expect(() => synth({ canary: schedule })).toThrow(message);
  });

  it('takes a 1-unit rate in the singular, as EventBridge does', () => {
    const { json } = synth({ canary: 'rate(1 hour)' });

    const alarm = resourcesOfType(json, 'AWS::CloudWatch::Alarm')
      .map(([, a]) => a.Properties)
      .find((a) => a.AlarmName === 'wisevoice-transcription-dev-CanaryNotCompleting');
    expect(metricOf(alarm).Period).toBe(3600);
  });
});
