/**
 * Webhook mode (`transcriptDelivery=webhook`): the receiver Lambda behind a public Function URL,
 * its generated secret, exactly the task-response grants it and Submit get, Submit's wiring, the
 * output — and that poll mode (the default) has none of it.
 */
import {
  type CfnTemplate,
  functionOf,
  logicalId,
  permissionsOf,
  resourcesOfType,
  roleOf,
  STEPS,
  type Statement,
  type Synthesized,
  synth,
} from '../synth.js';

const WEBHOOK = { transcriptDelivery: 'webhook' };
const RECEIVER_NAME = 'wisevoice-transcription-dev-receive-webhook';
const SECRET_NAME = 'wisevoice/transcription/dev/webhook-secret';
/** This stack's state machine, as the receiver's and Submit's policies name it (built from its name). */
const STATE_MACHINE_ARN =
  'arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:wisevoice-transcription-dev';

const LOGS_AND_XRAY = [
  'logs:CreateLogStream <log-group.Arn>',
  'logs:CreateLogStream arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<log-group>',
  'logs:PutLogEvents <log-group.Arn>',
  'logs:PutLogEvents arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<log-group>',
  'xray:PutTelemetryRecords *',
  'xray:PutTraceSegments *',
];

type Env = Record<string, unknown>;

function receiverOf(json: CfnTemplate) {
  const id = logicalId(json, 'AWS::Lambda::Function', (r) => r.Properties.FunctionName === RECEIVER_NAME);
  const props = json.Resources[id]?.Properties as Record<string, unknown>;
  return { id, props, env: (props.Environment as { Variables: Env }).Variables };
}

function hasReceiver(json: CfnTemplate): boolean {
  return resourcesOfType(json, 'AWS::Lambda::Function').some(
    ([, r]) => r.Properties.FunctionName === RECEIVER_NAME,
  );
}

function webhookSecretOf(json: CfnTemplate): string {
  return logicalId(json, 'AWS::SecretsManager::Secret', (r) => r.Properties.Name === SECRET_NAME);
}

function apiKeySecretOf(json: CfnTemplate): string {
  return logicalId(json, 'AWS::SecretsManager::Secret', (r) => r.Properties.Name !== SECRET_NAME);
}

function urlOf(json: CfnTemplate): string {
  return logicalId(json, 'AWS::Lambda::Url');
}

function logGroupOf(props: Record<string, unknown>): string {
  return (props.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
}

function envOf(props: Record<string, unknown>): Env {
  return (props.Environment as { Variables: Env }).Variables;
}

/** Every Lambda of the stack, by function name. */
function allFunctions(json: CfnTemplate): [string, Record<string, unknown>][] {
  return resourcesOfType(json, 'AWS::Lambda::Function').map(([, r]) => [
    String(r.Properties.FunctionName),
    r.Properties,
  ]);
}

function aliases(json: CfnTemplate, props: Record<string, unknown>): Record<string, string> {
  const result: Record<string, string> = {
    [logicalId(json, 'AWS::S3::Bucket', (r) => r.Properties.BucketName === 'wisevoice-transcription-dev')]:
      'bucket',
    [logGroupOf(props)]: 'log-group',
    [webhookSecretOf(json)]: 'webhook-secret',
    [apiKeySecretOf(json)]: 'api-key-secret',
  };
  const keys = resourcesOfType(json, 'AWS::KMS::Key');
  if (keys.length === 1) result[(keys[0] as [string, unknown])[0]] = 'key';
  return result;
}

/** Every `states:` action of every IAM policy in the template, as `action resource` lines. */
function statesGrants(json: CfnTemplate): string[] {
  const documents = [
    ...resourcesOfType(json, 'AWS::IAM::Policy'),
    ...resourcesOfType(json, 'AWS::IAM::ManagedPolicy'),
  ].map(([, r]) => r.Properties.PolicyDocument as { Statement: Statement[] });
  return documents.flatMap((d) =>
    d.Statement.flatMap((s) =>
      ([] as string[])
        .concat(s.Action)
        .filter((a) => a.startsWith('states:'))
        .map((a) => `${a} ${JSON.stringify(s.Resource)}`),
    ),
  );
}

describe('transcriptDelivery=poll (the default)', () => {
  let poll: Synthesized;
  beforeAll(() => {
    poll = synth();
  });

  it('has no Function URL, no receiver, no webhook secret and no WebhookUrl output', () => {
    expect(resourcesOfType(poll.json, 'AWS::Lambda::Url')).toEqual([]);
    expect(hasReceiver(poll.json)).toBe(false);
    expect(
      resourcesOfType(poll.json, 'AWS::SecretsManager::Secret').map(([, r]) => r.Properties.Name),
    ).toEqual(['wisevoice/transcription/dev/assemblyai-api-key']);
    expect(Object.keys(poll.json.Outputs ?? {})).not.toContain('WebhookUrl');
    expect(Object.keys(poll.json.Resources).filter((id) => /Webhook/i.test(id))).toEqual([]);
    expect(
      resourcesOfType(poll.json, 'AWS::Lambda::Permission').filter(([, r]) => r.Properties.Principal === '*'),
    ).toEqual([]);
  });

  it('tells every Lambda TRANSCRIPT_DELIVERY=poll and gives none of them the webhook variables', () => {
    const functions = allFunctions(poll.json);

    expect(functions.length).toBe(STEPS.length + 2);
    for (const [name, props] of functions) {
      const env = envOf(props);
      expect([name, env.TRANSCRIPT_DELIVERY]).toEqual([name, 'poll']);
      expect([name, Object.keys(env).filter((n) => n.startsWith('WEBHOOK_'))]).toEqual([name, []]);
    }
  });

  it('grants no task responses (states:SendTask*) to anyone', () => {
    expect(statesGrants(poll.json).filter((g) => g.includes('SendTask'))).toEqual([]);
  });
});

describe('transcriptDelivery=webhook', () => {
  let hook: Synthesized;
  let poll: Synthesized;
  beforeAll(() => {
    hook = synth(WEBHOOK);
    poll = synth();
  });

  it('adds only the receiver, its secret and URL, and its two alarms (besides new step versions)', () => {
    const before = new Set(Object.keys(poll.json.Resources));
    const added = Object.keys(hook.json.Resources).filter((id) => !before.has(id));
    const removed = [...before].filter((id) => !(id in hook.json.Resources));

    // TRANSCRIPT_DELIVERY changes every step's environment, so every step publishes a new version.
    expect(removed.filter((id) => !/^Steps\w+FunctionCurrentVersion[0-9A-Fa-f]+$/.test(id))).toEqual([]);
    expect(removed).toHaveLength(STEPS.length);
    expect(
      added.filter(
        (id) =>
          !/^(WebhookReceiver|MonitoringReceiveWebhook|Steps\w+FunctionCurrentVersion[0-9A-Fa-f]+$)/.test(id),
      ),
    ).toEqual([]);
    expect(added.filter((id) => id.startsWith('MonitoringReceiveWebhook')).length).toBe(2);
  });

  it('puts a Function URL with auth type NONE, buffered, on the receiver and nowhere else', () => {
    const urls = resourcesOfType(hook.json, 'AWS::Lambda::Url');
    const receiver = receiverOf(hook.json);

    expect(urls.map(([, r]) => r.Properties)).toEqual([
      {
        AuthType: 'NONE',
        InvokeMode: 'BUFFERED',
        TargetFunctionArn: { 'Fn::GetAtt': [receiver.id, 'Arn'] },
      },
    ]);
    const publicPermissions = resourcesOfType(hook.json, 'AWS::Lambda::Permission')
      .map(([, r]) => r.Properties)
      .filter((p) => p.Principal === '*');
    expect(publicPermissions.length).toBeGreaterThan(0);
    for (const permission of publicPermissions) {
      expect(permission.FunctionName).toEqual({ 'Fn::GetAtt': [receiver.id, 'Arn'] });
      // Public, but only through the URL (where the handler checks the secret header).
      expect(permission.FunctionUrlAuthType === 'NONE' || permission.InvokedViaFunctionUrl === true).toBe(
        true,
      );
    }
  });

  it('reserves no concurrency unless told to, and the documented memory and timeout', () => {
    const { props } = receiverOf(hook.json);

    expect(props.ReservedConcurrentExecutions).toBeUndefined();
    expect(props).toMatchObject({
      MemorySize: 512,
      Timeout: 30,
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogFormat: 'JSON' },
    });
  });

  it('caps the receiver, and only the receiver, at webhookReservedConcurrency', () => {
    const capped = synth({ ...WEBHOOK, webhookReservedConcurrency: '50' });

    expect(receiverOf(capped.json).props.ReservedConcurrentExecutions).toBe(50);
    const reserving = allFunctions(capped.json).filter(
      ([, p]) => p.ReservedConcurrentExecutions !== undefined,
    );
    expect(reserving.map(([name]) => name)).toEqual([RECEIVER_NAME]);
  });

  it("gives the receiver the workflow's environment, the API key's and the webhook secret's ids", () => {
    const { env } = receiverOf(hook.json);
    const submitEnv = envOf(functionOf(hook.json, 'submit-transcription').props);

    expect(env).toMatchObject({
      TRANSCRIPT_DELIVERY: 'webhook',
      WORK_PREFIX: 'work/',
      TRANSCRIPTION_BUCKET: submitEnv.TRANSCRIPTION_BUCKET,
      ASSEMBLYAI_BASE_URL: 'https://api.assemblyai.com',
      POWERTOOLS_SERVICE_NAME: 'transcription-dev',
      ASSEMBLYAI_API_KEY_SECRET_ID: { Ref: apiKeySecretOf(hook.json) },
      WEBHOOK_SECRET_ID: { Ref: webhookSecretOf(hook.json) },
    });
    expect(Object.keys(env).filter((n) => /SECRET$|API_KEY$/.test(n))).toEqual([]);
  });

  it('generates the secret as a plain 48-character string without punctuation, never in the template', () => {
    const secret = hook.json.Resources[webhookSecretOf(hook.json)]?.Properties as Record<string, unknown>;

    expect(secret.GenerateSecretString).toEqual({ PasswordLength: 48, ExcludePunctuation: true });
    expect(secret.SecretString).toBeUndefined();
    expect(secret.KmsKeyId).toBeUndefined();
    expect(JSON.stringify(hook.json)).not.toContain('resolve:secretsmanager');
  });

  it('encrypts the secret with the stack key when kms=true, and lets its readers decrypt it through Secrets Manager only', () => {
    const kms = synth({ ...WEBHOOK, kms: 'true' }).json;
    const secret = kms.Resources[webhookSecretOf(kms)]?.Properties as Record<string, unknown>;
    const key = logicalId(kms, 'AWS::KMS::Key');
    const viaS3 = ' if {"StringEquals":{"kms:ViaService":"s3.<AWS::Region>.amazonaws.com"}}';
    const viaSecrets = ' if {"StringEquals":{"kms:ViaService":"secretsmanager.<AWS::Region>.amazonaws.com"}}';
    const receiver = receiverOf(kms).props;

    expect(secret.KmsKeyId).toEqual({ 'Fn::GetAtt': [key, 'Arn'] });
    expect(
      permissionsOf(kms, roleOf(receiver), aliases(kms, receiver)).filter((p) => p.startsWith('kms:')),
    ).toEqual(
      [
        `kms:Decrypt <key.Arn>${viaS3}`,
        `kms:GenerateDataKey <key.Arn>${viaS3}`,
        `kms:Decrypt <key.Arn>${viaSecrets}`,
      ].sort(),
    );
  });

  it('lets the receiver do exactly its job: work objects, both secrets, task responses on this state machine', () => {
    const { props } = receiverOf(hook.json);

    expect(permissionsOf(hook.json, roleOf(props), aliases(hook.json, props))).toEqual(
      [
        ...LOGS_AND_XRAY,
        's3:GetObject <bucket.Arn>/work/*',
        's3:PutObject <bucket.Arn>/work/*',
        's3:ListBucket <bucket.Arn>',
        'secretsmanager:GetSecretValue <api-key-secret>',
        'secretsmanager:GetSecretValue <webhook-secret>',
        `states:SendTaskFailure ${STATE_MACHINE_ARN}`,
        `states:SendTaskSuccess ${STATE_MACHINE_ARN}`,
      ].sort(),
    );
  });

  it('names the real state machine in those grants, built from its name (a reference would be a cycle)', () => {
    const stateMachine = logicalId(hook.json, 'AWS::StepFunctions::StateMachine');

    expect(hook.json.Resources[stateMachine]?.Properties.StateMachineName).toBe(
      STATE_MACHINE_ARN.split(':').pop(),
    );
    const grants = statesGrants(hook.json).filter((g) => g.startsWith('states:SendTask'));
    expect(grants.length).toBeGreaterThan(0);
    for (const grant of grants) expect(grant).not.toContain(stateMachine);
  });

  it('grants no broader states:* action and no task response beyond SendTaskSuccess/SendTaskFailure', () => {
    const actions = statesGrants(hook.json).map((g) => g.split(' ')[0]);

    expect(actions.filter((a) => a?.includes('*'))).toEqual([]);
    expect([...new Set(actions.filter((a) => a?.startsWith('states:SendTask')))].sort()).toEqual([
      'states:SendTaskFailure',
      'states:SendTaskSuccess',
    ]);
  });

  it('wires Submit: the URL and secret id in its environment, the secret readable, SendTaskSuccess only', () => {
    const submit = functionOf(hook.json, 'submit-transcription').props;
    const before = functionOf(poll.json, 'submit-transcription').props;
    const beforeLines = permissionsOf(poll.json, roleOf(before), {
      [logGroupOf(before)]: 'log-group',
      [logicalId(poll.json, 'AWS::SecretsManager::Secret')]: 'api-key-secret',
    });
    const lines = permissionsOf(hook.json, roleOf(submit), {
      [logGroupOf(submit)]: 'log-group',
      [apiKeySecretOf(hook.json)]: 'api-key-secret',
      [webhookSecretOf(hook.json)]: 'webhook-secret',
    });

    expect(envOf(submit)).toMatchObject({
      TRANSCRIPT_DELIVERY: 'webhook',
      WEBHOOK_URL: { 'Fn::GetAtt': [urlOf(hook.json), 'FunctionUrl'] },
      WEBHOOK_SECRET_ID: { Ref: webhookSecretOf(hook.json) },
    });
    expect(lines).toEqual(
      [
        ...beforeLines,
        'secretsmanager:GetSecretValue <webhook-secret>',
        `states:SendTaskSuccess ${STATE_MACHINE_ARN}`,
      ].sort(),
    );
  });

  it('gives the webhook variables to Submit and the receiver only', () => {
    const withWebhookEnv = allFunctions(hook.json)
      .filter(([, props]) => Object.keys(envOf(props)).some((n) => n.startsWith('WEBHOOK_')))
      .map(([name]) => name);

    expect(withWebhookEnv.sort()).toEqual([
      RECEIVER_NAME,
      'wisevoice-transcription-dev-submit-transcription',
    ]);
  });

  it('tells every Lambda TRANSCRIPT_DELIVERY=webhook', () => {
    const functions = allFunctions(hook.json);

    expect(functions.length).toBe(STEPS.length + 3);
    for (const [name, props] of functions) {
      expect([name, envOf(props).TRANSCRIPT_DELIVERY]).toEqual([name, 'webhook']);
    }
  });

  it('publishes WebhookUrl and no other new output', () => {
    const outputs = hook.json.Outputs ?? {};

    expect(outputs.WebhookUrl?.Value).toEqual({ 'Fn::GetAtt': [urlOf(hook.json), 'FunctionUrl'] });
    expect(Object.keys(outputs).filter((o) => !(o in (poll.json.Outputs ?? {})))).toEqual(['WebhookUrl']);
  });

  it('alarms on errors and throttles of the receiver', () => {
    const { id } = receiverOf(hook.json);

    for (const metricName of ['Errors', 'Throttles']) {
      hook.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `wisevoice-transcription-dev-ReceiveWebhook${metricName}`,
        Namespace: 'AWS/Lambda',
        MetricName: metricName,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: id } }],
      });
    }
  });

  describe.each([
    ['defaults', WEBHOOK],
    ['kms=true', { ...WEBHOOK, kms: 'true' }],
  ])('cdk-nag with %s', (_name, context) => {
    it('leaves no finding unacknowledged, and acknowledges the secret without rotation with its reason', () => {
      const report = synth(context).report.pluginReports.find((r) => r.pluginName === 'AwsSolutions');
      const smg4 = (report?.suppressedViolations ?? []).filter(
        (v) =>
          v.ruleName === 'AwsSolutions-SMG4' &&
          v.violatingConstructs[0]?.constructPath.includes('WebhookReceiver'),
      );

      expect(
        report?.violations.map((v) => `${v.ruleName} ${v.violatingConstructs[0]?.constructPath}`),
      ).toEqual([]);
      expect(report?.conclusion).toBe('success');
      expect(smg4).toHaveLength(1);
      expect(smg4[0]?.reason).toMatch(/in-flight jobs/);
    });
  });
});
