/**
 * The REST API (`restApi=true`): absent by default; with it, IAM authorization on every method, the
 * request validator and the execution-input model on POST (agreeing with the zod schema), stage
 * throttling, JSON access logs without bodies, X-Ray, execution logging of errors without data, the
 * integration role's exact permissions, the bot's execute-api grant, the output — and cdk-nag clean
 * alone and beside the other options.
 */
import { Ajv } from 'ajv';
import { loadRestApiConfig } from '../../../cdk/config.js';
import { ACCESS_LOG_FIELDS, transcriptionRequestModel } from '../../../cdk/constructs/rest-api.js';
import { flattenReference } from '../../../cdk/nag.js';
import { transcriptionRequestSchema } from '../../../lambdas/validate-audio/request-schema.js';
import {
  type CfnTemplate,
  logicalId,
  nagReport,
  permissionsOf,
  recordedAcknowledgements,
  resourcesOfType,
  type Statement,
  type Synthesized,
  statementLines,
  synth,
} from '../synth.js';

const REST = { restApi: 'true' };

function aliases(json: CfnTemplate): Record<string, string> {
  const result: Record<string, string> = {
    [logicalId(json, 'AWS::StepFunctions::StateMachine')]: 'state-machine',
    [logicalId(json, 'AWS::ApiGateway::RestApi')]: 'api',
    [logicalId(json, 'AWS::ApiGateway::Stage')]: 'stage',
  };
  result[bucketId(json)] = 'bucket';
  const keys = resourcesOfType(json, 'AWS::KMS::Key');
  if (keys.length === 1) result[(keys[0] as [string, unknown])[0]] = 'key';
  return result;
}

function bucketId(json: CfnTemplate): string {
  const ids = resourcesOfType(json, 'AWS::S3::Bucket')
    .map(([id]) => id)
    .filter((id) => id.startsWith('StorageBucket'));
  if (ids.length !== 1) throw new Error(`Expected one storage bucket, found ${ids.length}`);
  return ids[0] as string;
}

function integrationRole(json: CfnTemplate): string {
  return logicalId(
    json,
    'AWS::IAM::Role',
    (r) =>
      JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('apigateway.amazonaws.com') &&
      JSON.stringify(r.Properties.Description ?? '').includes('integrations'),
  );
}

function botPolicyLines(json: CfnTemplate): string[] {
  const [, policy] = resourcesOfType(json, 'AWS::IAM::ManagedPolicy')[0] ?? [];
  const document = policy?.Properties.PolicyDocument as { Statement: Statement[] };
  return statementLines(document.Statement, aliases(json));
}

function methods(json: CfnTemplate) {
  return resourcesOfType(json, 'AWS::ApiGateway::Method').map(([, r]) => r.Properties);
}

function methodOf(json: CfnTemplate, verb: string) {
  const found = methods(json).filter((m) => m.HttpMethod === verb);
  if (found.length !== 1) throw new Error(`Expected one ${verb} method`);
  return found[0] as Record<string, unknown>;
}

describe('the REST API', () => {
  it('is off by default: no API, no role, no output, no bot grant', () => {
    const { json } = synth();

    expect(Object.values(json.Resources).filter((r) => r.Type.startsWith('AWS::ApiGateway::'))).toEqual([]);
    expect(json.Outputs?.RestApiUrl).toBeUndefined();
    expect(JSON.stringify(json.Outputs?.BotEnvironment)).not.toContain('REST_API');
    expect(JSON.stringify(resourcesOfType(json, 'AWS::IAM::ManagedPolicy'))).not.toContain('execute-api');
  });

  describe('with restApi=true', () => {
    let on: Synthesized;
    beforeAll(() => {
      on = synth(REST);
    });

    it('has exactly the two routes, each with IAM authorization', () => {
      const all = methods(on.json);

      expect(all.map((m) => m.HttpMethod).sort()).toEqual(['GET', 'POST']);
      for (const method of all) expect(method.AuthorizationType).toBe('AWS_IAM');
      expect(
        resourcesOfType(on.json, 'AWS::ApiGateway::Resource')
          .map(([, r]) => r.Properties.PathPart)
          .sort(),
      ).toEqual(['transcriptions', '{file_id}', '{user_id}']);
    });

    it('validates the POST body against the execution-input model, and answers 400 with the reason', () => {
      const post = methodOf(on.json, 'POST');
      const validatorId = (post.RequestValidatorId as { Ref: string }).Ref;
      const modelId = (post.RequestModels as Record<string, { Ref: string }>)['application/json']
        ?.Ref as string;
      const model = on.json.Resources[modelId]?.Properties as { Schema: Record<string, unknown> };

      expect(on.json.Resources[validatorId]?.Properties).toMatchObject({ ValidateRequestBody: true });
      expect(model.Schema).toMatchObject({
        $schema: 'http://json-schema.org/draft-04/schema#',
        type: 'object',
        required: ['s3_key', 'user_id', 'file_id', 'bucket'],
        additionalProperties: false,
        properties: { bucket: { enum: [{ Ref: bucketId(on.json) }] } },
      });
      const [, response] = resourcesOfType(on.json, 'AWS::ApiGateway::GatewayResponse')[0] ?? [];
      expect(response?.Properties).toMatchObject({ ResponseType: 'BAD_REQUEST_BODY', StatusCode: '400' });
    });

    it('starts the execution by a direct Step Functions integration and maps its answers', () => {
      const post = methodOf(on.json, 'POST');
      const integration = post.Integration as Record<string, unknown>;
      const template = JSON.stringify(integration.RequestTemplates);

      expect(integration).toMatchObject({
        Type: 'AWS',
        IntegrationHttpMethod: 'POST',
        PassthroughBehavior: 'NEVER',
        Credentials: { 'Fn::GetAtt': [integrationRole(on.json), 'Arn'] },
      });
      // biome-ignore lint/suspicious/noTemplateCurlyInString: VTL's formal references, not a template literal
      expect(template).toContain('${userId}-${fileId}');
      // biome-ignore lint/suspicious/noTemplateCurlyInString: as above
      expect(template).toContain('${userId}_${attempt}-${fileId}');
      expect(template).toContain("querystring.get('attempt')");
      expect(flattenReference(integration.Uri)).toBe(
        'arn:<AWS::Partition>:apigateway:<AWS::Region>:states:action/StartExecution',
      );
      expect(
        (integration.IntegrationResponses as { StatusCode: string; SelectionPattern: string }[]).map(
          (r) => `${r.SelectionPattern}→${r.StatusCode}`,
        ),
      ).toEqual(['200→202', '4\\d{2}→400', '5\\d{2}→500']);
      const errors = JSON.stringify(integration.IntegrationResponses);
      expect(errors).toContain('responseOverride.status = 409');
      expect(errors).toContain('responseOverride.status = 429');
      expect((post.MethodResponses as { StatusCode: string }[]).map((r) => r.StatusCode)).toEqual([
        '202',
        '400',
        '409',
        '429',
        '500',
      ]);
    });

    it('reads the result object by a direct S3 integration, 404 meaning pending or unknown', () => {
      const get = methodOf(on.json, 'GET');
      const integration = get.Integration as Record<string, unknown>;

      expect(integration).toMatchObject({
        Type: 'AWS',
        IntegrationHttpMethod: 'GET',
        RequestParameters: {
          'integration.request.path.user_id': 'method.request.path.user_id',
          'integration.request.path.file_id': 'method.request.path.file_id',
        },
      });
      expect(flattenReference(integration.Uri)).toBe(
        `arn:<AWS::Partition>:apigateway:<AWS::Region>:s3:path/<${bucketId(on.json)}>/results/{user_id>/{file_id>.json`, // flattenReference turns every "}" into ">"
      );
      expect(JSON.stringify(integration.IntegrationResponses)).toContain('pending_or_unknown');
    });

    it('throttles every method, traces with X-Ray, logs errors without data, writes JSON access logs without bodies', () => {
      const [, stage] = resourcesOfType(on.json, 'AWS::ApiGateway::Stage')[0] ?? [];
      const props = stage?.Properties as Record<string, unknown>;
      const access = props.AccessLogSetting as { DestinationArn: unknown; Format: string };
      const logGroupId = (flattenReference(access.DestinationArn).match(/:log-group:<(\w+)>$/) ??
        [])[1] as string;

      expect(props).toMatchObject({
        StageName: 'v1',
        TracingEnabled: true,
        MethodSettings: [
          {
            HttpMethod: '*',
            ResourcePath: '/*',
            LoggingLevel: 'ERROR',
            DataTraceEnabled: false,
            MetricsEnabled: true,
            ThrottlingRateLimit: 50,
            ThrottlingBurstLimit: 100,
          },
        ],
      });
      expect(on.json.Resources[logGroupId]?.Type).toBe('AWS::Logs::LogGroup');
      expect(JSON.parse(access.Format)).toEqual(ACCESS_LOG_FIELDS);
      expect(Object.keys(ACCESS_LOG_FIELDS)).toEqual(
        expect.arrayContaining(['requestId', 'caller', 'status']),
      );
      expect(access.Format).not.toMatch(/body|\$input|querystring/i);
      expect(on.json.Resources[logGroupId]?.Properties).toMatchObject({ RetentionInDays: 30 });
    });

    it('reads the throttling from context', () => {
      const [, stage] =
        resourcesOfType(
          synth({ ...REST, restApiRateLimit: '5', restApiBurstLimit: '10' }).json,
          'AWS::ApiGateway::Stage',
        )[0] ?? [];

      expect((stage?.Properties.MethodSettings as unknown[] | undefined)?.[0]).toMatchObject({
        ThrottlingRateLimit: 5,
        ThrottlingBurstLimit: 10,
      });
    });

    it('gives the integrations exactly: start on this state machine, read the results prefix', () => {
      expect(permissionsOf(on.json, integrationRole(on.json), aliases(on.json))).toEqual(
        [
          's3:GetObject <bucket.Arn>/results/*',
          's3:ListBucket <bucket.Arn>',
          'states:StartExecution <state-machine>',
        ].sort(),
      );
    });

    it('lets the bot invoke the two routes of the stage, and nothing else of the API', () => {
      expect(botPolicyLines(on.json).filter((l) => l.startsWith('execute-api:'))).toEqual([
        'execute-api:Invoke arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<api>/<stage>/GET/transcriptions/*/*',
        'execute-api:Invoke arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<api>/<stage>/POST/transcriptions',
      ]);
    });

    it('alarms on 5xx answers, never on 4xx', () => {
      const alarms = resourcesOfType(on.json, 'AWS::CloudWatch::Alarm')
        .map(([, r]) => r.Properties)
        .filter((p) => p.Namespace === 'AWS/ApiGateway');

      expect(alarms).toEqual([
        expect.objectContaining({
          AlarmName: 'wisevoice-transcription-dev-RestApi5xx',
          MetricName: '5XXError',
          Dimensions: [{ Name: 'ApiName', Value: 'wisevoice-transcription-dev' }],
          Statistic: 'Sum',
          Period: 300,
          Threshold: 5,
          AlarmActions: [{ Ref: logicalId(on.json, 'AWS::SNS::Topic') }],
        }),
      ]);
    });

    it('publishes the URL, also in BotEnvironment', () => {
      expect(JSON.stringify(on.json.Outputs?.RestApiUrl?.Value)).toContain('.execute-api.');
      expect(JSON.stringify(on.json.Outputs?.BotEnvironment?.Value)).toContain('TRANSCRIPTION_REST_API_URL=');
    });
  });

  it('with kms=true also lets the integrations decrypt results, through S3 only', () => {
    const { json } = synth({ ...REST, kms: 'true' });

    expect(
      permissionsOf(json, integrationRole(json), aliases(json)).filter((l) => l.startsWith('kms:')),
    ).toEqual([
      'kms:Decrypt <key.Arn> if {"StringEquals":{"kms:ViaService":"s3.<AWS::Region>.amazonaws.com"}}',
    ]);
  });

  describe('cdk-nag', () => {
    it.each([
      ['alone', REST],
      ['with the intake queue', { ...REST, intakeQueue: 'true' }],
      [
        'with prod, kms, webhook delivery, the intake queue and an alarm e-mail',
        {
          ...REST,
          environment: 'prod',
          kms: 'true',
          transcriptDelivery: 'webhook',
          intakeQueue: 'true',
          alarmEmail: 'ops@example.com',
        },
      ],
      [
        'with an existing KMS bucket and key',
        {
          ...REST,
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
      expect(
        [
          ...new Set(
            (report.suppressedViolations ?? [])
              .filter((v) => v.violatingConstructs.some((c) => c.constructPath.includes('/RestApi/')))
              .map((v) =>
                v.ruleName
                  .replace(/<StorageBucket\w+\.Arn>/, '<bucket.Arn>')
                  .replace('arn:<AWS::Partition>:s3:::team-audio', '<bucket.Arn>'),
              ),
          ),
        ].sort(),
      ).toEqual([
        'AwsSolutions-APIG3',
        'AwsSolutions-COG4',
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        'AwsSolutions-IAM5[Resource::<bucket.Arn>/results/*]',
      ]);
    });
  });
});

describe('the REST API request model and the zod schema', () => {
  const policy = { bucket: 'wisevoice-transcription-dev', inputPrefix: 'transcription/' };
  const { $schema: _draft, ...schema } = transcriptionRequestModel(policy) as Record<string, unknown>;
  // ajv 8 speaks draft 7; the model uses only keywords whose meaning draft 4 shares (no exclusive bounds).
  const model = new Ajv({ strict: false }).compile(schema);
  const zod = transcriptionRequestSchema(policy);
  const valid = {
    s3_key: 'transcription/123/abc-123.ogg',
    user_id: 123,
    file_id: 'abc-123',
    bucket: policy.bucket,
  };

  it.each([
    ['the minimal input', valid],
    ['a user id as a string of digits', { ...valid, user_id: '123' }],
    ['every optional field', { ...valid, language_code: 'en_us', speakers_expected: 10, force: true }],
    [
      'the request options',
      {
        ...valid,
        speakers_min: 2,
        speakers_max: 4,
        speaker_names: { A: 'Anna', B: 'Борис' },
        keyterms: ['WiseVoice', 'Step Functions'],
        outputs: ['srt', 'vtt', 'txt'],
        redact_pii: true,
        redact_pii_policies: ['person_name', 'phone_number'],
      },
    ],
    ['a key in a subfolder', { ...valid, s3_key: 'transcription/123/voice/2026/a b.ogg' }],
    ['a 128-character file id', { ...valid, file_id: 'a'.repeat(128) }],
    ['a non-ASCII key', { ...valid, s3_key: 'transcription/123/голос.ogg' }],
  ])('both accept %s', (_name, input) => {
    expect(zod.safeParse(input).success).toBe(true);
    expect(model(input)).toBe(true);
  });

  it.each([
    ['no s3_key', { ...valid, s3_key: undefined }],
    ['no bucket', { ...valid, bucket: undefined }],
    ['another bucket', { ...valid, bucket: 'other' }],
    ['an unknown field', { ...valid, attempt: 2 }],
    ['a zero user id', { ...valid, user_id: 0 }],
    ['a fractional user id', { ...valid, user_id: 1.5 }],
    ['a user id with a leading zero', { ...valid, user_id: '0123' }],
    ['an empty file id', { ...valid, file_id: '' }],
    ['a file id with a dot', { ...valid, file_id: 'a.b' }],
    ['a 129-character file id', { ...valid, file_id: 'a'.repeat(129) }],
    ['a key outside the input prefix', { ...valid, s3_key: 'results/123/x.json' }],
    ['the bare prefix', { ...valid, s3_key: 'transcription/' }],
    ['a ".." segment', { ...valid, s3_key: 'transcription/123/../124/x.ogg' }],
    ['a "." segment', { ...valid, s3_key: 'transcription/123/./x.ogg' }],
    ['a backslash', { ...valid, s3_key: 'transcription/123/a\\b.ogg' }],
    ['a control character', { ...valid, s3_key: 'transcription/123/a\nb.ogg' }],
    ['an unknown language', { ...valid, language_code: 'xx' }],
    ['11 speakers', { ...valid, speakers_expected: 11 }],
    ['2.5 speakers', { ...valid, speakers_expected: 2.5 }],
    ['force as a string', { ...valid, force: 'true' }],
    ['11 as speakers_max', { ...valid, speakers_max: 11 }],
    ['a speaker name for a lowercase label', { ...valid, speaker_names: { a: 'Anna' } }],
    ['an empty speaker name', { ...valid, speaker_names: { A: '' } }],
    ['no keyterms', { ...valid, keyterms: [] }],
    ['a repeated keyterm', { ...valid, keyterms: ['x', 'x'] }],
    ['an unknown output format', { ...valid, outputs: ['docx'] }],
    ['a repeated output format', { ...valid, outputs: ['srt', 'srt'] }],
    ['an unknown PII policy', { ...valid, redact_pii_policies: ['social_credit'] }],
    ['redact_pii as a string', { ...valid, redact_pii: 'true' }],
    ['an array', [valid]],
  ])('both refuse %s', (_name, input) => {
    expect(zod.safeParse(input).success).toBe(false);
    expect(model(input)).toBe(false);
  });

  // Where the model is looser: checks JSON Schema cannot state. These start an execution that
  // Validate fails with InvalidInput (a failed result, never a transcription).
  it.each([
    ["another user's folder", { ...valid, s3_key: 'transcription/124/x.ogg' }],
    ['a percent-encoded ".."', { ...valid, s3_key: 'transcription/123/%2e%2e/x.ogg' }],
    ['speakers_expected with a range', { ...valid, speakers_expected: 2, speakers_min: 1 }],
    ['a range upside down', { ...valid, speakers_min: 3, speakers_max: 2 }],
    ['policies with redaction off', { ...valid, redact_pii: false, redact_pii_policies: ['person_name'] }],
    ['a blank speaker name', { ...valid, speaker_names: { A: '   ' } }],
    ['a keyterm with a control character', { ...valid, keyterms: ['bell\u0007'] }],
    [
      'a 16-digit user id above 2^53',
      { ...valid, user_id: '9999999999999999', s3_key: 'transcription/9999999999999999/x.ogg' },
    ],
  ])('only zod refuses %s', (_name, input) => {
    expect(zod.safeParse(input).success).toBe(false);
    expect(model(input)).toBe(true);
  });
});

describe('loadRestApiConfig', () => {
  const load = (context: Record<string, unknown>) =>
    loadRestApiConfig({ tryGetContext: (key) => context[key] });

  it('is off, 50 requests a second with bursts of 100, by default; reads the keys', () => {
    expect(load({})).toEqual({ enabled: false, rateLimit: 50, burstLimit: 100 });
    expect(load({ restApi: 'true', restApiRateLimit: '2.5', restApiBurstLimit: '5' })).toEqual({
      enabled: true,
      rateLimit: 2.5,
      burstLimit: 5,
    });
  });

  it.each([
    [{ restApi: 'yes' }, /restApi/],
    [{ restApiRateLimit: '0' }, /restApiRateLimit/],
    [{ restApiBurstLimit: '1.5' }, /restApiBurstLimit/],
    [{ restApiBurstLimit: '5001' }, /restApiBurstLimit/],
  ])('stops the synth on %j', (context, message) => {
    expect(() => load(context)).toThrow(message);
  });
});
