/**
 * Provisioned concurrency (`provisionedConcurrency=step:N,…`): on exactly the published versions the
 * state machine's DefinitionSubstitutions name, for the configured steps only, and none by default.
 */
import { WORKFLOW_STEPS } from '../../../cdk/constructs/transcription-steps.js';
import {
  type CfnResource,
  type CfnTemplate,
  functionNamed,
  functionsByStep,
  permissionsOf,
  resourcesOfType,
  roleOf,
  STEPS,
  synth,
} from '../synth.js';

const RELEASE_NAME = 'wisevoice-transcription-dev-release-provisioned-concurrency';

function releaseFunction(json: CfnTemplate) {
  return functionNamed(json, RELEASE_NAME);
}

/** The rules that invoke a function, by logical id. */
function rulesTargeting(json: CfnTemplate, functionId: string): CfnResource[] {
  return resourcesOfType(json, 'AWS::Events::Rule')
    .map(([, rule]) => rule)
    .filter((rule) =>
      ((rule.Properties.Targets ?? []) as { Arn: unknown }[]).some(
        (t) => JSON.stringify(t.Arn) === JSON.stringify({ 'Fn::GetAtt': [functionId, 'Arn'] }),
      ),
    );
}

/** The provisioned concurrency of the version each step's placeholder resolves to (undefined: none). */
function concurrencyInvokedByStep(json: CfnTemplate): Record<string, number | undefined> {
  const machine = resourcesOfType(json, 'AWS::StepFunctions::StateMachine')[0]?.[1];
  const substitutions = (machine?.Properties.DefinitionSubstitutions ?? {}) as Record<
    string,
    { Ref: string }
  >;
  const result: Record<string, number | undefined> = {};
  for (const spec of WORKFLOW_STEPS) {
    const versionId = substitutions[spec.placeholder]?.Ref;
    const version = versionId ? json.Resources[versionId] : undefined;
    if (version?.Type !== 'AWS::Lambda::Version') throw new Error(`${spec.placeholder} names no version`);
    // The version belongs to this step's function.
    expect(version.Properties.FunctionName).toEqual({ Ref: functionsByStep(json)[spec.step]?.id });
    const config = version.Properties.ProvisionedConcurrencyConfig as
      | { ProvisionedConcurrentExecutions: number }
      | undefined;
    result[spec.step] = config?.ProvisionedConcurrentExecutions;
  }
  return result;
}

describe('provisioned concurrency', () => {
  it('is off by default: no version, alias or function carries any', () => {
    const { json } = synth();

    expect(Object.values(concurrencyInvokedByStep(json)).filter((n) => n !== undefined)).toEqual([]);
    expect(JSON.stringify(json)).not.toContain('ProvisionedConcurrencyConfig');
    expect(resourcesOfType(json, 'AWS::Lambda::Alias')).toEqual([]);
  });

  it('puts the configured concurrency on the versions the definition invokes, and on no other step', () => {
    const { json } = synth({ provisionedConcurrency: 'validate-audio:2,submit-transcription:1' });
    const expected = Object.fromEntries(STEPS.map((step) => [step, undefined])) as Record<
      string,
      number | undefined
    >;
    expected['validate-audio'] = 2;
    expected['submit-transcription'] = 1;

    expect(concurrencyInvokedByStep(json)).toEqual(expected);
    // Nowhere else: not on $LATEST (functions cannot carry it), no alias, no other version.
    const provisioned = resourcesOfType(json, 'AWS::Lambda::Version').filter(
      ([, r]) => r.Properties.ProvisionedConcurrencyConfig !== undefined,
    );
    expect(provisioned).toHaveLength(2);
    expect(resourcesOfType(json, 'AWS::Lambda::Alias')).toEqual([]);
  });

  it('accepts every step on the user path at once and passes cdk-nag', () => {
    const { json, report } = synth({
      provisionedConcurrency:
        'validate-audio:1,submit-transcription:1,check-transcript:3,format-segments:1,persist-result:100',
    });

    expect(concurrencyInvokedByStep(json)).toEqual({
      'validate-audio': 1,
      'submit-transcription': 1,
      'check-transcript': 3,
      'format-segments': 1,
      'persist-result': 100,
      'record-failure': undefined,
    });
    for (const plugin of report.pluginReports) expect(plugin.violations).toEqual([]);
  });

  it.each([
    ['record-failure:1', /provisionedConcurrency.*record-failure/],
    ['validate:1', /provisionedConcurrency.*validate/],
    ['validate-audio:0', /provisionedConcurrency.*validate-audio.*1 to 100/],
    ['validate-audio:101', /provisionedConcurrency.*1 to 100/],
  ])('refuses to synthesize with %s', (value, message) => {
    expect(() => synth({ provisionedConcurrency: value })).toThrow(message);
  });
});

describe("release of old versions' provisioned concurrency", () => {
  it('does not exist without provisioned concurrency', () => {
    expect(releaseFunction(synth().json)).toBeUndefined();
  });

  it('runs after every stack update and daily, on exactly the provisioned functions', () => {
    const { json } = synth({ provisionedConcurrency: 'validate-audio:2,check-transcript:1' });
    const release = releaseFunction(json);
    if (!release) throw new Error('no release function');
    const env = (release.props.Environment as { Variables: Record<string, unknown> }).Variables;

    const fns = functionsByStep(json);
    expect(env.PROVISIONED_FUNCTION_NAMES).toEqual({
      'Fn::Join': ['', [{ Ref: fns['validate-audio']?.id }, ',', { Ref: fns['check-transcript']?.id }]],
    });
    expect(env.STACK_NAME).toEqual({ Ref: 'AWS::StackId' });
    const rules = rulesTargeting(json, release.id);
    const patterns = rules.map((r) => r.Properties.EventPattern).filter(Boolean);
    expect(patterns).toEqual([
      {
        source: ['aws.cloudformation'],
        'detail-type': ['CloudFormation Stack Status Change'],
        detail: { 'stack-id': [{ Ref: 'AWS::StackId' }], 'status-details': { status: ['UPDATE_COMPLETE'] } },
      },
    ]);
    expect(rules.map((r) => r.Properties.ScheduleExpression).filter(Boolean)).toEqual(['rate(1 day)']);
  });

  it('may list and delete provisioned concurrency of those functions only, and read the stack and definition', () => {
    const { json } = synth({ provisionedConcurrency: 'validate-audio:2,check-transcript:1' });
    const release = releaseFunction(json);
    if (!release) throw new Error('no release function');
    const fns = functionsByStep(json);
    const machineId = resourcesOfType(json, 'AWS::StepFunctions::StateMachine')[0]?.[0] ?? '';
    const roleId = roleOf(release.props);
    const permissions = permissionsOf(json, roleId, {
      [fns['validate-audio']?.id ?? '']: 'validate',
      [fns['check-transcript']?.id ?? '']: 'check',
      [machineId]: 'machine',
    }).filter((p) => !/^(logs|xray):/.test(p));

    expect(permissions).toEqual([
      'cloudformation:DescribeStacks <AWS::StackId>',
      'lambda:DeleteProvisionedConcurrencyConfig <check.Arn>',
      'lambda:DeleteProvisionedConcurrencyConfig <check.Arn>:*',
      'lambda:DeleteProvisionedConcurrencyConfig <validate.Arn>',
      'lambda:DeleteProvisionedConcurrencyConfig <validate.Arn>:*',
      'lambda:ListProvisionedConcurrencyConfigs <check.Arn>',
      'lambda:ListProvisionedConcurrencyConfigs <check.Arn>:*',
      'lambda:ListProvisionedConcurrencyConfigs <validate.Arn>',
      'lambda:ListProvisionedConcurrencyConfigs <validate.Arn>:*',
      'states:DescribeStateMachine <machine>',
    ]);
  });
});
