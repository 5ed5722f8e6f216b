/**
 * Releasing the provisioned concurrency of old versions, against mocked Lambda, Step Functions and
 * CloudFormation, with the real definition as Step Functions returns it (placeholders resolved to
 * version ARNs): only numbered versions the definition no longer names lose theirs, never while
 * the stack is changing, and never every version of a function the definition does not name.
 */
import { readFileSync } from 'node:fs';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DeleteProvisionedConcurrencyConfigCommand,
  LambdaClient,
  ListProvisionedConcurrencyConfigsCommand,
  ResourceConflictException,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { DescribeStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { WORKFLOW_STEPS } from '../../cdk/constructs/transcription-steps.js';
import { STATE_MACHINE_DEFINITION } from '../../cdk/paths.js';
import {
  releaseProvisionedConcurrency,
  versionsNamedBy,
} from '../../lambdas/release-provisioned-concurrency/release-provisioned-concurrency.js';
import { loadReleaseSettings } from '../../lambdas/release-provisioned-concurrency/release-settings.js';
import { ConfigurationError } from '../../lambdas/shared/errors.js';

const ACCOUNT = '123456789012';
const REGION = 'eu-central-1';
const STACK = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/wisevoice-transcription-prod/1a2b`;
const MACHINE = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:wisevoice-transcription-prod`;
const fnName = (step: string) => `wisevoice-transcription-prod-${step}`;
const versionArn = (step: string, version: number | string) =>
  `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${fnName(step)}:${version}`;

/** The deployed definition: every placeholder resolved to the given version of its step. */
function deployedDefinition(versions: Record<string, number>): string {
  let text = readFileSync(STATE_MACHINE_DEFINITION, 'utf8');
  for (const spec of WORKFLOW_STEPS) {
    text = text.replaceAll(`\${${spec.placeholder}}`, versionArn(spec.step, versions[spec.step] ?? 1));
  }
  return text;
}

const FAKE_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const lambda = mockClient(LambdaClient);
const sfn = mockClient(SFNClient);
const cloudformation = mockClient(CloudFormationClient);

function deps(functionNames = [fnName('validate-audio'), fnName('submit-transcription')]) {
  return {
    // Real clients (the paginator checks the class); mockClient answers for every instance.
    lambda: new LambdaClient({ region: REGION, credentials: FAKE_CREDENTIALS }),
    sfn: new SFNClient({ region: REGION, credentials: FAKE_CREDENTIALS }),
    cloudformation: new CloudFormationClient({ region: REGION, credentials: FAKE_CREDENTIALS }),
    stackName: STACK,
    stateMachineArn: MACHINE,
    functionNames,
  };
}

/** Provisioned configurations by function name, as ListProvisionedConcurrencyConfigs pages them (2 per page). */
function provisioned(byFunction: Record<string, (number | string)[]>): void {
  lambda.on(ListProvisionedConcurrencyConfigsCommand).callsFake((input) => {
    const step = Object.keys(byFunction).find((s) => fnName(s) === input.FunctionName);
    const all = (step ? byFunction[step] : []) ?? [];
    const start = input.Marker ? Number(input.Marker) : 0;
    const page = all.slice(start, start + 2);
    return {
      ProvisionedConcurrencyConfigs: page.map((q) => ({
        FunctionArn: versionArn(step ?? '', q),
        RequestedProvisionedConcurrentExecutions: 2,
      })),
      NextMarker: start + 2 < all.length ? String(start + 2) : undefined,
    };
  });
}

function deleted(): string[] {
  return lambda
    .commandCalls(DeleteProvisionedConcurrencyConfigCommand)
    .map((call) => `${call.args[0].input.FunctionName}:${call.args[0].input.Qualifier}`);
}

beforeEach(() => {
  lambda.reset();
  sfn.reset();
  cloudformation.reset();
  cloudformation.on(DescribeStacksCommand).resolves({
    Stacks: [
      { StackName: 'wisevoice-transcription-prod', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date() },
    ],
  });
  sfn.on(DescribeStateMachineCommand).resolves({
    definition: deployedDefinition({ 'validate-audio': 7, 'submit-transcription': 4 }),
  } as never);
  lambda.on(DeleteProvisionedConcurrencyConfigCommand).resolves({});
});

describe('versionsNamedBy', () => {
  it('finds the version of every step in the real definition, Submit once for both of its states', () => {
    const named = versionsNamedBy(deployedDefinition({ 'validate-audio': 7, 'submit-transcription': 4 }));

    expect([...named.keys()].sort()).toEqual(WORKFLOW_STEPS.map((s) => fnName(s.step)).sort());
    expect([...(named.get(fnName('validate-audio')) ?? [])]).toEqual(['7']);
    expect([...(named.get(fnName('submit-transcription')) ?? [])]).toEqual(['4']);
  });

  it('ignores unqualified ARNs, aliases and $LATEST', () => {
    const definition = JSON.stringify({
      States: {
        A: { Parameters: { FunctionName: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:f` } },
        B: { Parameters: { FunctionName: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:f:live` } },
        C: { Resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:f:$LATEST` },
        D: { Resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:f:12` },
      },
    });

    expect(versionsNamedBy(definition)).toEqual(new Map([['f', new Set(['12'])]]));
  });
});

describe('releaseProvisionedConcurrency', () => {
  it('removes it from the old versions and keeps it on the ones the definition invokes', async () => {
    provisioned({ 'validate-audio': [5, 6, 7], 'submit-transcription': [3, 4] });

    const summary = await releaseProvisionedConcurrency(deps());

    expect(deleted().sort()).toEqual(
      [
        `${fnName('validate-audio')}:5`,
        `${fnName('validate-audio')}:6`,
        `${fnName('submit-transcription')}:3`,
      ].sort(),
    );
    expect(summary.kept.sort()).toEqual([
      `${fnName('submit-transcription')}:4`,
      `${fnName('validate-audio')}:7`,
    ]);
    expect(summary.released).toHaveLength(3);
    expect(summary.outcome).toBe('done');
  });

  it('reads every page of the configurations', async () => {
    provisioned({ 'validate-audio': [1, 2, 3, 4, 5, 6, 7], 'submit-transcription': [4] });

    await releaseProvisionedConcurrency(deps());

    expect(deleted()).toHaveLength(6);
    expect(lambda.commandCalls(ListProvisionedConcurrencyConfigsCommand).length).toBeGreaterThanOrEqual(5);
  });

  it.each([
    'UPDATE_IN_PROGRESS',
    'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
    'UPDATE_ROLLBACK_IN_PROGRESS',
    'UPDATE_ROLLBACK_FAILED',
  ])('touches nothing while the stack is %s', async (status) => {
    cloudformation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 's', StackStatus: status as never, CreationTime: new Date() }],
    });
    provisioned({ 'validate-audio': [5, 7], 'submit-transcription': [3, 4] });

    const summary = await releaseProvisionedConcurrency(deps());

    expect(summary.outcome).toBe('stack-busy');
    expect(deleted()).toEqual([]);
    expect(sfn.commandCalls(DescribeStateMachineCommand)).toHaveLength(0);
  });

  it('keeps what a rolled-back deploy restored: the definition decides, not the newest version', async () => {
    cloudformation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 's', StackStatus: 'UPDATE_ROLLBACK_COMPLETE', CreationTime: new Date() }],
    });
    sfn.on(DescribeStateMachineCommand).resolves({
      definition: deployedDefinition({ 'validate-audio': 6, 'submit-transcription': 4 }),
    } as never);
    provisioned({ 'validate-audio': [6, 7], 'submit-transcription': [4] });

    await releaseProvisionedConcurrency(deps());

    expect(deleted()).toEqual([`${fnName('validate-audio')}:7`]);
  });

  it('leaves every version of a function the definition names none of, and says so', async () => {
    provisioned({ 'validate-audio': [7], 'submit-transcription': [4] });

    const summary = await releaseProvisionedConcurrency(deps([fnName('validate-audio'), 'someone-else']));

    expect(summary.unnamed_functions).toEqual(['someone-else']);
    expect(deleted()).toEqual([]);
    expect(
      lambda.commandCalls(ListProvisionedConcurrencyConfigsCommand, { FunctionName: 'someone-else' }),
    ).toHaveLength(0);
  });

  it('leaves concurrency on an alias alone', async () => {
    provisioned({ 'validate-audio': ['live', 5, 7], 'submit-transcription': [4] });

    const summary = await releaseProvisionedConcurrency(deps());

    expect(deleted()).toEqual([`${fnName('validate-audio')}:5`]);
    expect(summary.aliases_left).toEqual([`${fnName('validate-audio')}:live`]);
  });

  it('counts a configuration already gone as released and a refused removal as failed, and goes on', async () => {
    provisioned({ 'validate-audio': [5, 6, 7], 'submit-transcription': [3, 4] });
    lambda
      .on(DeleteProvisionedConcurrencyConfigCommand, {
        FunctionName: fnName('validate-audio'),
        Qualifier: '5',
      })
      .rejects(new ResourceNotFoundException({ message: 'gone', $metadata: {} }))
      .on(DeleteProvisionedConcurrencyConfigCommand, {
        FunctionName: fnName('validate-audio'),
        Qualifier: '6',
      })
      .rejects(new ResourceConflictException({ message: 'allocating', $metadata: {} }));

    const summary = await releaseProvisionedConcurrency(deps());

    expect(summary.released.sort()).toEqual([
      `${fnName('submit-transcription')}:3`,
      `${fnName('validate-audio')}:5`,
    ]);
    expect(summary.failed).toEqual([
      { version: `${fnName('validate-audio')}:6`, error_type: 'ResourceConflictException' },
    ]);
  });
});

describe('loadReleaseSettings', () => {
  const env = { STACK_NAME: STACK, STATE_MACHINE_ARN: MACHINE, PROVISIONED_FUNCTION_NAMES: 'a,b' };

  it('reads the stack, the state machine and the provisioned functions', () => {
    expect(loadReleaseSettings(env)).toEqual({
      stackName: STACK,
      stateMachineArn: MACHINE,
      functionNames: ['a', 'b'],
    });
  });

  it.each(Object.keys(env))('fails fast without %s', (name) => {
    expect(() => loadReleaseSettings({ ...env, [name]: ' ' })).toThrow(ConfigurationError);
  });
});
