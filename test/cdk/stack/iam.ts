/**
 * Least privilege, written out: the exact actions and resources each role and the bot policy get.
 * The expectations are spelled out here rather than derived from the step table, so widening a
 * grant means changing this file too.
 */
import {
  type CfnTemplate,
  functionOf,
  functionsByStep,
  logicalId,
  permissionsOf,
  resourcesOfType,
  STEPS,
  type Statement,
  statementLines,
  synth,
} from '../synth.js';

const LOGS_AND_XRAY = [
  'logs:CreateLogStream <log-group.Arn>',
  'logs:CreateLogStream arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<log-group>',
  'logs:PutLogEvents <log-group.Arn>',
  'logs:PutLogEvents arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<log-group>',
  'xray:PutTelemetryRecords *',
  'xray:PutTraceSegments *',
];

const EXPECTED: Record<(typeof STEPS)[number], string[]> = {
  'validate-audio': [
    's3:GetObject <bucket.Arn>/transcription/*',
    's3:GetObject <bucket.Arn>/results/*',
    's3:ListBucket <bucket.Arn>',
  ],
  'submit-transcription': [
    's3:GetObject <bucket.Arn>/transcription/*',
    's3:GetObject <bucket.Arn>/work/*',
    's3:PutObject <bucket.Arn>/work/*',
    's3:GetObject <bucket.Arn>/results/*',
    's3:ListBucket <bucket.Arn>',
    'secretsmanager:GetSecretValue <secret>',
    'sts:AssumeRole <signer-role.Arn>',
  ],
  'check-transcript': [
    's3:PutObject <bucket.Arn>/work/*',
    's3:GetObject <bucket.Arn>/results/*',
    's3:ListBucket <bucket.Arn>',
    'secretsmanager:GetSecretValue <secret>',
  ],
  'format-segments': ['s3:GetObject <bucket.Arn>/work/*', 's3:PutObject <bucket.Arn>/work/*'],
  'persist-result': [
    's3:GetObject <bucket.Arn>/work/*',
    's3:DeleteObject <bucket.Arn>/work/*',
    's3:GetObject <bucket.Arn>/results/*',
    's3:PutObject <bucket.Arn>/results/*',
    's3:ListBucket <bucket.Arn>',
    'secretsmanager:GetSecretValue <secret>',
  ],
  'record-failure': [
    's3:GetObject <bucket.Arn>/results/*',
    's3:PutObject <bucket.Arn>/results/*',
    's3:ListBucket <bucket.Arn>',
    'secretsmanager:GetSecretValue <secret>',
  ],
};

/** What the bot needs to consume the completion queue. */
const COMPLETION_CONSUMER = [
  'sqs:ReceiveMessage <completion-queue.Arn>',
  'sqs:DeleteMessage <completion-queue.Arn>',
  'sqs:ChangeMessageVisibility <completion-queue.Arn>',
  'sqs:GetQueueAttributes <completion-queue.Arn>',
];

function completionQueueOf(json: CfnTemplate): string {
  return logicalId(json, 'AWS::SQS::Queue', (r) => r.Properties.RedrivePolicy !== undefined);
}

function roleOf(json: CfnTemplate, step: string): string {
  return (functionOf(json, step).props.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
}

function logGroupOf(json: CfnTemplate, step: string): string {
  return (functionOf(json, step).props.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
}

function aliases(json: CfnTemplate, step: string): Record<string, string> {
  const result: Record<string, string> = {
    [logicalId(json, 'AWS::S3::Bucket', (r) => r.Properties.BucketName === 'wisevoice-transcription-dev')]:
      'bucket',
    [logGroupOf(json, step)]: 'log-group',
  };
  const secrets = resourcesOfType(json, 'AWS::SecretsManager::Secret');
  if (secrets.length === 1) result[(secrets[0] as [string, unknown])[0]] = 'secret';
  const keys = resourcesOfType(json, 'AWS::KMS::Key');
  if (keys.length === 1) result[(keys[0] as [string, unknown])[0]] = 'key';
  result[signerRoleOf(json)] = 'signer-role';
  return result;
}

/** The role whose sessions sign the audio URL, found by its trust in Submit's role. */
function signerRoleOf(json: CfnTemplate): string {
  const submitRole = roleOf(json, 'submit-transcription');
  return logicalId(json, 'AWS::IAM::Role', (r) =>
    JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes(`"${submitRole}"`),
  );
}

describe('IAM', () => {
  let json: CfnTemplate;
  beforeAll(() => {
    json = synth().json;
  });

  it.each(STEPS)('gives the %s role exactly what the step needs', (step) => {
    const permissions = permissionsOf(json, roleOf(json, step), aliases(json, step));

    expect(permissions).toEqual([...LOGS_AND_XRAY, ...EXPECTED[step]].sort());
  });

  it('gives each step its own role, assumable by Lambda only, with no managed policy', () => {
    const roles = new Set(STEPS.map((step) => roleOf(json, step)));

    expect(roles.size).toBe(STEPS.length);
    for (const roleId of roles) {
      const role = json.Resources[roleId]?.Properties as Record<string, unknown>;
      expect(role.ManagedPolicyArns).toBeUndefined();
      expect(role.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
        ],
      });
    }
  });

  it('signs the audio URL with a role only Submit can assume, for at most an hour, reading audio only', () => {
    const signer = signerRoleOf(json);
    const role = json.Resources[signer]?.Properties as Record<string, unknown>;
    const submit = functionOf(json, 'submit-transcription').props as {
      Environment: { Variables: Record<string, unknown> };
    };

    expect(role.MaxSessionDuration).toBe(3600);
    expect(role.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { AWS: { 'Fn::GetAtt': [roleOf(json, 'submit-transcription'), 'Arn'] } },
        },
      ],
    });
    expect(permissionsOf(json, signer, aliases(json, 'submit-transcription'))).toEqual([
      's3:GetObject <bucket.Arn>/transcription/*',
    ]);
    expect(submit.Environment.Variables.AUDIO_URL_SIGNER_ROLE_ARN).toEqual({ 'Fn::GetAtt': [signer, 'Arn'] });
  });

  it('lets only the steps that call AssemblyAI read the API key', () => {
    const readers = STEPS.filter((step) =>
      permissionsOf(json, roleOf(json, step), aliases(json, step)).some((p) =>
        p.startsWith('secretsmanager:'),
      ),
    );

    expect(readers).toEqual(['submit-transcription', 'check-transcript', 'persist-result', 'record-failure']);
  });

  it('grants no wildcard action and no managed full-access policy anywhere', () => {
    const documents = [
      ...resourcesOfType(json, 'AWS::IAM::Policy'),
      ...resourcesOfType(json, 'AWS::IAM::ManagedPolicy'),
    ].map(([, r]) => r.Properties.PolicyDocument as { Statement: Statement[] });
    const actions = documents.flatMap((d) => d.Statement.flatMap((s) => ([] as string[]).concat(s.Action)));

    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
    for (const [, role] of resourcesOfType(json, 'AWS::IAM::Role')) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('lets the state machine invoke versions of exactly the six step functions, never the unqualified function', () => {
    const smRole = logicalId(json, 'AWS::IAM::Role', (r) =>
      JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('states.amazonaws.com'),
    );
    const fnAliases = Object.fromEntries(
      Object.entries(functionsByStep(json)).map(([step, { id }]) => [id, step]),
    );
    const invoke = permissionsOf(json, smRole, fnAliases).filter((p) => p.startsWith('lambda:'));

    expect(invoke).toEqual(STEPS.map((step) => `lambda:InvokeFunction <${step}.Arn>:*`).sort());
  });

  it('gives the bot upload, start, describe, result reads and the completion queue, nothing else', () => {
    const [, policy] = resourcesOfType(json, 'AWS::IAM::ManagedPolicy')[0] as [
      string,
      { Properties: Record<string, unknown> },
    ];
    const stateMachine = logicalId(json, 'AWS::StepFunctions::StateMachine');
    const completionQueue = completionQueueOf(json);
    const lines = statementLines((policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement, {
      ...aliases(json, 'validate-audio'),
      [stateMachine]: 'state-machine',
      [completionQueue]: 'completion-queue',
    });

    expect(lines).toEqual(
      [
        's3:PutObject <bucket.Arn>/transcription/*',
        's3:GetObject <bucket.Arn>/results/*',
        's3:ListBucket <bucket.Arn>',
        'states:StartExecution <state-machine>',
        'states:DescribeExecution arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<state-machine.Name>:*',
        ...COMPLETION_CONSUMER,
      ].sort(),
    );
  });

  it('lets the bot decrypt completion messages with the stack key, through SQS only, when kms=true', () => {
    const kms = synth({ kms: 'true' }).json;
    const [, policy] = resourcesOfType(kms, 'AWS::IAM::ManagedPolicy')[0] as [
      string,
      { Properties: Record<string, unknown> },
    ];
    const lines = statementLines((policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement, {
      ...aliases(kms, 'validate-audio'),
      [completionQueueOf(kms)]: 'completion-queue',
    });

    expect(lines.filter((l) => l.includes('completion-queue') || l.includes('sqs.'))).toEqual(
      [
        ...COMPLETION_CONSUMER,
        'kms:Decrypt <key.Arn> if {"StringEquals":{"kms:ViaService":"sqs.<AWS::Region>.amazonaws.com"}}',
      ].sort(),
    );
  });

  it('gives the bot no SQS access with completionQueue=false', () => {
    const off = synth({ completionQueue: 'false' }).json;
    const [, policy] = resourcesOfType(off, 'AWS::IAM::ManagedPolicy')[0] as [
      string,
      { Properties: Record<string, unknown> },
    ];

    expect(JSON.stringify(policy.Properties.PolicyDocument)).not.toContain('sqs:');
  });

  describe('with kms=true', () => {
    let kms: CfnTemplate;
    beforeAll(() => {
      kms = synth({ kms: 'true' }).json;
    });
    const viaS3 = ' if {"StringEquals":{"kms:ViaService":"s3.<AWS::Region>.amazonaws.com"}}';
    const viaSecrets = ' if {"StringEquals":{"kms:ViaService":"secretsmanager.<AWS::Region>.amazonaws.com"}}';
    const expectedKms: Record<(typeof STEPS)[number], string[]> = {
      'validate-audio': [`kms:Decrypt <key.Arn>${viaS3}`],
      // Decrypt through S3 is what lets AssemblyAI download via the presigned URL this role signs.
      'submit-transcription': [
        `kms:Decrypt <key.Arn>${viaS3}`,
        `kms:GenerateDataKey <key.Arn>${viaS3}`,
        `kms:Decrypt <key.Arn>${viaSecrets}`,
      ],
      'check-transcript': [
        `kms:Decrypt <key.Arn>${viaS3}`,
        `kms:GenerateDataKey <key.Arn>${viaS3}`,
        `kms:Decrypt <key.Arn>${viaSecrets}`,
      ],
      'format-segments': [`kms:Decrypt <key.Arn>${viaS3}`, `kms:GenerateDataKey <key.Arn>${viaS3}`],
      'persist-result': [
        `kms:Decrypt <key.Arn>${viaS3}`,
        `kms:GenerateDataKey <key.Arn>${viaS3}`,
        `kms:Decrypt <key.Arn>${viaSecrets}`,
      ],
      'record-failure': [
        `kms:Decrypt <key.Arn>${viaS3}`,
        `kms:GenerateDataKey <key.Arn>${viaS3}`,
        `kms:Decrypt <key.Arn>${viaSecrets}`,
      ],
    };

    it.each(STEPS)('adds only the matching KMS actions, through S3 or Secrets Manager, for %s', (step) => {
      const permissions = permissionsOf(kms, roleOf(kms, step), aliases(kms, step));

      expect(permissions.filter((p) => p.startsWith('kms:'))).toEqual(expectedKms[step].sort());
      expect(permissions.filter((p) => !p.startsWith('kms:'))).toEqual(
        [...LOGS_AND_XRAY, ...EXPECTED[step]].sort(),
      );
    });
  });

  describe('with an existing bucket and secret', () => {
    let existing: CfnTemplate;
    beforeAll(() => {
      existing = synth({ existingBucketName: 'team-audio', existingSecretName: 'team/assemblyai' }).json;
    });

    it('scopes the grants to that bucket and to that secret name', () => {
      const permissions = permissionsOf(existing, roleOf(existing, 'submit-transcription'), {
        [logGroupOf(existing, 'submit-transcription')]: 'log-group',
      });

      expect(permissions).toEqual(
        [
          ...LOGS_AND_XRAY,
          's3:GetObject arn:<AWS::Partition>:s3:::team-audio/transcription/*',
          's3:GetObject arn:<AWS::Partition>:s3:::team-audio/work/*',
          's3:PutObject arn:<AWS::Partition>:s3:::team-audio/work/*',
          's3:GetObject arn:<AWS::Partition>:s3:::team-audio/results/*',
          's3:ListBucket arn:<AWS::Partition>:s3:::team-audio',
          'secretsmanager:GetSecretValue arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:team/assemblyai-??????',
          `sts:AssumeRole <${signerRoleOf(existing)}.Arn>`,
        ].sort(),
      );
      expect(resourcesOfType(existing, 'AWS::S3::Bucket')).toEqual([]);
      expect(resourcesOfType(existing, 'AWS::SecretsManager::Secret')).toEqual([]);
    });
  });
});
