/** Context parsing: the documented defaults, and a clear error for each bad value. */
import {
  loadDeploymentConfig,
  loadProvisionedConcurrencyConfig,
  loadRegionsConfig,
  loadVpcConfig,
} from '../../cdk/config.js';
import { readDefinitionFile, retryBudgetAfterDeadlineSeconds } from '../../cdk/retry-budget.js';
import { DEFAULT_PII_POLICIES, SPEECH_MODELS } from '../../lambdas/shared/assemblyai-catalog.js';

function load(context: Record<string, unknown> = {}) {
  return loadDeploymentConfig({ tryGetContext: (key) => context[key] });
}

describe('loadDeploymentConfig', () => {
  it('has the documented defaults', () => {
    expect(load()).toEqual({
      environment: 'dev',
      production: false,
      bucketName: 'wisevoice-transcription-dev',
      existingBucketName: undefined,
      secretName: 'wisevoice/transcription/dev/assemblyai-api-key',
      existingSecretName: undefined,
      kms: false,
      existingKmsKeyArn: undefined,
      accessLogs: false,
      alarmEmail: undefined,
      audioRetentionDays: 7,
      resultRetentionDays: 30,
      workRetentionDays: 1,
      accessLogRetentionDays: 90,
      logRetentionDays: 30,
      logLevel: 'INFO',
      inputPrefix: 'transcription/',
      resultsPrefix: 'results/',
      workPrefix: 'work/',
      assemblyaiRegion: 'us',
      speechModels: 'universal-3-5-pro,universal-2',
      expectedLanguages: 'ru,en',
      fallbackLanguage: 'ru',
      languageConfidenceThreshold: 0,
      assemblyaiTimeoutMs: 10_000,
      deleteTranscriptAfterPersist: true,
      completionQueue: true,
      transcriptDelivery: 'poll',
      webhookReservedConcurrency: 0,
      presignedUrlTtlSeconds: 3600,
      redactPii: false,
      redactPiiPolicies: DEFAULT_PII_POLICIES.join(','),
      maxAudioBytes: 1024 ** 3,
      maxAudioSeconds: 36_000,
      minAudioSeconds: 0.3,
      pollDeadlineBaseSeconds: 900,
      pollDeadlinePerAudioSecond: 0.5,
      // 3600 (was 120): waits grow with the time spent, so a slow 10 h job ends in ≤ 13 loops.
      pollMaxWaitSeconds: 3600,
      checkHoldSeconds: 15,
      executionTimeoutSeconds: 900 + 18_000 + 120 + retryBudgetAfterDeadlineSeconds(readDefinitionFile()),
    });
  });

  it('names only speech models AssemblyAI still accepts by default', () => {
    const models = load().speechModels.split(',');

    expect(models.length).toBeGreaterThan(0);
    for (const model of models) expect(SPEECH_MODELS[model]?.status).toBe('current');
  });

  it('takes the language policy from context', () => {
    expect(
      load({ expectedLanguages: 'all', fallbackLanguage: 'auto', languageConfidenceThreshold: '0.4' }),
    ).toMatchObject({ expectedLanguages: 'all', fallbackLanguage: 'auto', languageConfidenceThreshold: 0.4 });
    expect(load({ expectedLanguages: ['ru', 'uk', 'en'], speechModels: 'universal-2' })).toMatchObject({
      expectedLanguages: 'ru,uk,en',
      speechModels: 'universal-2',
    });
  });

  it('turns access logs on for prod and names resources after the environment', () => {
    const prod = load({ environment: 'prod' });

    expect(prod).toMatchObject({
      production: true,
      accessLogs: true,
      bucketName: 'wisevoice-transcription-prod',
    });
  });

  it('takes the in-Lambda hold of Check from context, 0 turning it off', () => {
    expect(load({ checkHoldSeconds: '0' }).checkHoldSeconds).toBe(0);
    expect(load({ checkHoldSeconds: 20 }).checkHoldSeconds).toBe(20);
  });

  it('turns the completion queue off from context', () => {
    expect(load({ completionQueue: 'false' }).completionQueue).toBe(false);
    expect(load({ completionQueue: false }).completionQueue).toBe(false);
  });

  it('takes the transcript delivery from context', () => {
    expect(load({ transcriptDelivery: 'webhook' }).transcriptDelivery).toBe('webhook');
    expect(load({ transcriptDelivery: ' poll ' }).transcriptDelivery).toBe('poll');
  });

  it('accepts typed values from cdk.json and strings from the CLI alike', () => {
    expect(load({ kms: true, audioRetentionDays: 3 })).toMatchObject({ kms: true, audioRetentionDays: 3 });
    expect(load({ kms: 'true', audioRetentionDays: '3' })).toMatchObject({
      kms: true,
      audioRetentionDays: 3,
    });
  });

  it.each([
    [{ environment: 'Prod!' }, /environment/],
    [{ bucketName: 'Not_A_Bucket' }, /bucketName/],
    [{ kms: 'yes' }, /kms/],
    [{ completionQueue: 'on' }, /completionQueue/],
    [{ transcriptDelivery: 'callback' }, /transcriptDelivery.*poll, webhook/],
    [{ transcriptDelivery: 'Webhook' }, /transcriptDelivery/],
    [{ audioRetentionDays: '0' }, /audioRetentionDays/],
    [{ audioRetentionDays: '1.5' }, /audioRetentionDays/],
    [{ logRetentionDays: '10' }, /logRetentionDays/],
    [{ assemblyaiRegion: 'ap' }, /assemblyaiRegion/],
    [{ logLevel: 'TRACE' }, /logLevel/],
    [{ maxAudioSeconds: '-1' }, /maxAudioSeconds/],
    [{ minAudioSeconds: '100', maxAudioSeconds: '50' }, /minAudioSeconds/],
    [{ alarmEmail: 'not-an-address' }, /alarmEmail/],
    [{ inputPrefix: '/abs/' }, /inputPrefix/],
    [{ inputPrefix: 'audio' }, /inputPrefix/],
    [{ resultsPrefix: 'transcription/results/' }, /must not nest/],
    [{ presignedUrlTtlSeconds: '86400' }, /presignedUrlTtlSeconds/],
    [{ presignedUrlTtlSeconds: '3601' }, /presignedUrlTtlSeconds.*3600/],
    [{ checkHoldSeconds: '31' }, /checkHoldSeconds.*30/],
    [{ checkHoldSeconds: '-1' }, /checkHoldSeconds/],
    [{ speechModels: ' , ' }, /speechModels/],
    [{ speechModels: 'universal-3-pro,universal-2' }, /speechModels.*"universal-3-pro".*deprecated/],
    [{ speechModels: 'whisper-1' }, /speechModels.*Unknown speech model/],
    [{ expectedLanguages: 'ru,klingon' }, /expectedLanguages/],
    [{ expectedLanguages: 'all,ru' }, /expectedLanguages/],
    [{ fallbackLanguage: 'russian' }, /fallbackLanguage/],
    [{ languageConfidenceThreshold: '1.5' }, /languageConfidenceThreshold/],
    [{ languageConfidenceThreshold: '-0.1' }, /languageConfidenceThreshold/],
    [{ existingKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/abc' }, /needs "kms=true"/],
    [{ existingBucketName: 'team-audio', kms: 'true' }, /existingKmsKeyArn/],
  ])('refuses %j', (context, message) => {
    expect(() => load(context)).toThrow(message);
  });

  it('defaults assemblyaiRegion to the stack region side only when given one (regions)', () => {
    const forRegion = (stackRegion: string, context: Record<string, unknown> = {}) =>
      loadDeploymentConfig({ tryGetContext: (key) => context[key] }, { stackRegion }).assemblyaiRegion;

    expect(forRegion('eu-central-1')).toBe('eu');
    expect(forRegion('eu-west-3')).toBe('eu');
    expect(forRegion('us-east-1')).toBe('us');
    expect(forRegion('ap-southeast-2')).toBe('us');
    expect(forRegion('eu-central-1', { assemblyaiRegion: 'us' })).toBe('us');
    expect(forRegion('us-east-1', { assemblyaiRegion: 'eu' })).toBe('eu');
    expect(load().assemblyaiRegion).toBe('us');
  });
});

describe('loadProvisionedConcurrencyConfig', () => {
  function provisioned(context: Record<string, unknown> = {}) {
    return loadProvisionedConcurrencyConfig({ tryGetContext: (key) => context[key] }).byStep;
  }

  it('is off by default', () => {
    expect(provisioned()).toEqual({});
    expect(provisioned({ provisionedConcurrency: '' })).toEqual({});
  });

  it('reads step:N pairs from the CLI and a list from cdk.json', () => {
    expect(provisioned({ provisionedConcurrency: 'validate-audio:2, submit-transcription : 1' })).toEqual({
      'validate-audio': 2,
      'submit-transcription': 1,
    });
    expect(
      provisioned({
        provisionedConcurrency: ['check-transcript:100', 'format-segments:1', 'persist-result:3'],
      }),
    ).toEqual({ 'check-transcript': 100, 'format-segments': 1, 'persist-result': 3 });
  });

  it.each([
    ['record-failure:1', /provisionedConcurrency.*"record-failure" is not one of validate-audio/],
    ['validate:1', /provisionedConcurrency.*"validate"/],
    ['validate-audio', /provisionedConcurrency.*step:N/],
    ['validate-audio:0', /provisionedConcurrency.*1 to 100.*got 0/],
    ['validate-audio:101', /provisionedConcurrency.*1 to 100/],
    ['validate-audio:1.5', /provisionedConcurrency.*1 to 100/],
    ['validate-audio:two', /provisionedConcurrency.*1 to 100/],
    ['validate-audio:1,validate-audio:2', /provisionedConcurrency.*twice/],
  ])('refuses %s', (value, message) => {
    expect(() => provisioned({ provisionedConcurrency: value })).toThrow(message);
  });
});

describe('loadVpcConfig', () => {
  const vpc = (context: Record<string, unknown> = {}) =>
    loadVpcConfig({ tryGetContext: (key) => context[key] });
  const VPC_ID = 'vpc-0123456789abcdef0';

  it('is off by default', () => {
    expect(vpc()).toEqual({
      mode: 'none',
      vpcId: undefined,
      natGateways: 1,
      endpoints: true,
      dnsFirewall: false,
    });
    expect(vpc({ vpc: '', vpcId: '' }).mode).toBe('none');
  });

  it('creates a VPC with one NAT gateway, the endpoints and the DNS firewall', () => {
    expect(vpc({ vpc: 'create' })).toEqual({
      mode: 'create',
      vpcId: undefined,
      natGateways: 1,
      endpoints: true,
      dnsFirewall: true,
    });
    expect(vpc({ vpc: 'create', vpcNatGateways: 2, vpcEndpoints: false, vpcDnsFirewall: 'false' })).toEqual({
      mode: 'create',
      vpcId: undefined,
      natGateways: 2,
      endpoints: false,
      dnsFirewall: false,
    });
  });

  it("uses an existing VPC with the endpoints but without the DNS firewall, which would filter its owner's workloads", () => {
    expect(vpc({ vpcId: VPC_ID })).toEqual({
      mode: 'existing',
      vpcId: VPC_ID,
      natGateways: 1,
      endpoints: true,
      dnsFirewall: false,
    });
    expect(vpc({ vpcId: 'vpc-0123abcd', vpcEndpoints: 'false', vpcDnsFirewall: 'true' })).toMatchObject({
      vpcId: 'vpc-0123abcd',
      endpoints: false,
      dnsFirewall: true,
    });
  });

  it.each([
    [{ vpc: 'create', vpcId: VPC_ID }, 'Context "vpc=create" and "vpcId" exclude each other'],
    [{ vpc: 'true' }, /Context "vpc" must be "create" .*got true/],
    [{ vpcId: 'vpc-xyz' }, /Context "vpcId" must be a VPC id .*got vpc-xyz/],
    [{ vpcId: 'subnet-0123456789abcdef0' }, /Context "vpcId" must be a VPC id/],
    [{ vpc: 'create', vpcNatGateways: '0' }, /Context "vpcNatGateways" must be 1 or 2 .*got 0/],
    [{ vpc: 'create', vpcNatGateways: '1.5' }, /Context "vpcNatGateways" must be 1 or 2/],
    [{ vpcId: VPC_ID, vpcNatGateways: '2' }, /Context "vpcNatGateways" applies to "vpc=create" only/],
    [{ vpcNatGateways: '2' }, 'Context "vpcNatGateways" needs "vpc=create" or "vpcId"'],
    [{ vpcDnsFirewall: 'true' }, 'Context "vpcDnsFirewall" needs "vpc=create" or "vpcId"'],
    [{ vpc: 'create', vpcEndpoints: 'no' }, /Context "vpcEndpoints" must be true or false/],
  ])('refuses %j', (context, message) => {
    expect(() => vpc(context)).toThrow(message);
  });

  it('refuses an existing VPC, which lives in one region, with several regions, but creates one in each', () => {
    const regions = (context: Record<string, unknown>) =>
      loadRegionsConfig({ tryGetContext: (key) => context[key] });

    expect(() => regions({ regions: 'eu-central-1,us-east-1', vpcId: VPC_ID })).toThrow(
      'Context "vpcId" names a resource in one region and cannot be used with several "regions"',
    );
    expect(regions({ regions: 'eu-central-1', vpcId: VPC_ID }).regions).toEqual(['eu-central-1']);
    expect(regions({ regions: 'eu-central-1,us-east-1', vpc: 'create' }).regions).toHaveLength(2);
  });
});

describe('redaction context', () => {
  it('reads redactPii and redactPiiPolicies, and stops on a policy AssemblyAI does not know', () => {
    expect(load({ redactPii: 'true', redactPiiPolicies: 'person_name, phone_number' })).toMatchObject({
      redactPii: true,
      redactPiiPolicies: 'person_name,phone_number',
    });

    expect(() => load({ redactPiiPolicies: 'person_name,social_credit' })).toThrow(
      'Context "redactPiiPolicies": not AssemblyAI PII policies: social_credit',
    );
  });

  it('stops when redactPii is on by default while detection may pick a language AssemblyAI does not redact', () => {
    expect(() => load({ redactPii: 'true', expectedLanguages: 'ru,th' })).toThrow(
      'Context "redactPii=true" with "expectedLanguages"/"fallbackLanguage": redact_pii needs a language_code: language detection here may pick "th", where AssemblyAI does not redact PII',
    );
    expect(() => load({ redactPii: 'true', expectedLanguages: 'all' })).toThrow(/may pick any language/);
    expect(load({ redactPii: 'true', expectedLanguages: 'ru,en,uk' }).redactPii).toBe(true);
  });
});
