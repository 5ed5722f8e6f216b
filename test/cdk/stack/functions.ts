/** The Lambda defaults and per-step settings, and where the API key may and may not appear. */
import { readFileSync } from 'node:fs';
import { STATE_MACHINE_DEFINITION } from '../../../cdk/paths.js';
import {
  type CfnTemplate,
  functionOf,
  functionsByStep,
  resourcesOfType,
  STEPS,
  type Synthesized,
  synth,
} from '../synth.js';

const ASL = JSON.parse(readFileSync(STATE_MACHINE_DEFINITION, 'utf8')) as {
  States: Record<string, { Resource?: string; TimeoutSeconds?: number }>;
};

/** The ASL state whose Resource is the given placeholder. */
function stateTimeout(placeholder: string): number {
  const state = Object.values(ASL.States).find((s) => s.Resource === `\${${placeholder}}`);
  if (!state?.TimeoutSeconds) throw new Error(`No state with TimeoutSeconds for ${placeholder}`);
  return state.TimeoutSeconds;
}

const PLACEHOLDERS: Record<(typeof STEPS)[number], string> = {
  'validate-audio': 'ValidateAudioFunctionArn',
  'submit-transcription': 'SubmitTranscriptionFunctionArn',
  'check-transcript': 'CheckTranscriptFunctionArn',
  'format-segments': 'FormatSegmentsFunctionArn',
  'persist-result': 'PersistResultFunctionArn',
  'record-failure': 'RecordFailureFunctionArn',
};

type Env = Record<string, unknown>;

function environmentOf(json: CfnTemplate, step: string): Env {
  return (functionOf(json, step).props.Environment as { Variables: Env }).Variables;
}

describe('TranscriptionFunction', () => {
  let dev: Synthesized;
  beforeAll(() => {
    dev = synth();
  });

  it('deploys one function per step', () => {
    expect(Object.keys(functionsByStep(dev.json)).sort()).toEqual([...STEPS].sort());
    // …and the finalize-execution (test/cdk/stack/finalizer.ts) and sweep-transcripts
    // (test/cdk/stack/sweeper.ts) functions.
    expect(resourcesOfType(dev.json, 'AWS::Lambda::Function')).toHaveLength(STEPS.length + 2);
  });

  it.each(STEPS)('runs %s on arm64 Node.js 24 with active tracing and JSON logs', (step) => {
    const { props } = functionOf(dev.json, step);

    expect(props).toMatchObject({
      Architectures: ['arm64'],
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'INFO' },
      FunctionName: `wisevoice-transcription-dev-${step}`,
    });
  });

  const LAMBDA_INIT_SECONDS = 10;

  it.each(STEPS)('gives %s a timeout that ends, cold start included, before its state times out', (step) => {
    const timeout = functionOf(dev.json, step).props.Timeout as number;

    // Lambda's init phase (up to 10 s) is not part of the function timeout. A state that timed out
    // while its Lambda still runs would retry beside it: a second AssemblyAI job from Submit.
    expect(timeout + LAMBDA_INIT_SECONDS).toBeLessThan(stateTimeout(PLACEHOLDERS[step]));
    expect(timeout).toBeGreaterThanOrEqual(stateTimeout(PLACEHOLDERS[step]) - 25);
  });

  it('sizes memory per step', () => {
    const memory = Object.fromEntries(
      STEPS.map((step) => [step, functionOf(dev.json, step).props.MemorySize]),
    );

    expect(memory).toEqual({
      'validate-audio': 512,
      'submit-transcription': 256,
      'check-transcript': 512,
      'format-segments': 1024,
      'persist-result': 512,
      'record-failure': 256,
    });
  });

  it.each(STEPS)('logs %s into /aws/lambda/{name} with a retention', (step) => {
    const logGroupId = (functionOf(dev.json, step).props.LoggingConfig as { LogGroup: { Ref: string } })
      .LogGroup.Ref;

    expect(dev.json.Resources[logGroupId]?.Properties).toMatchObject({
      LogGroupName: `/aws/lambda/wisevoice-transcription-dev-${step}`,
      RetentionInDays: 30,
    });
  });

  it('sets the configuration every step reads, with the documented defaults', () => {
    const bucketId = resourcesOfType(dev.json, 'AWS::S3::Bucket')[0]?.[0];

    for (const step of STEPS) {
      expect(environmentOf(dev.json, step)).toMatchObject({
        TRANSCRIPTION_BUCKET: { Ref: bucketId },
        INPUT_PREFIX: 'transcription/',
        RESULTS_PREFIX: 'results/',
        WORK_PREFIX: 'work/',
        MAX_AUDIO_BYTES: '1073741824',
        MAX_AUDIO_SECONDS: '36000',
        MIN_AUDIO_SECONDS: '0.3',
        ASSEMBLYAI_BASE_URL: 'https://api.assemblyai.com',
        ASSEMBLYAI_SPEECH_MODELS: 'universal-3-5-pro,universal-2',
        ASSEMBLYAI_EXPECTED_LANGUAGES: 'ru,en',
        ASSEMBLYAI_FALLBACK_LANGUAGE: 'ru',
        ASSEMBLYAI_LANGUAGE_CONFIDENCE_THRESHOLD: '0',
        ASSEMBLYAI_TIMEOUT_MS: '10000',
        DELETE_TRANSCRIPT_AFTER_PERSIST: 'true',
        REDACT_PII: 'false',
        REDACT_PII_POLICIES: expect.stringMatching(/^person_name,phone_number,email_address,/),
        PRESIGNED_URL_TTL_SECONDS: '3600',
        POLL_DEADLINE_BASE_SECONDS: '900',
        POLL_DEADLINE_PER_AUDIO_SECOND: '0.5',
        POLL_MAX_WAIT_SECONDS: '3600',
        ASSEMBLYAI_CHECK_HOLD_SECONDS: '15',
        POWERTOOLS_SERVICE_NAME: 'transcription-dev',
        POWERTOOLS_METRICS_NAMESPACE: 'Transcription',
        POWERTOOLS_LOG_LEVEL: 'INFO',
      });
    }
  });

  it('passes the secret id, never its value, and only to the steps that call AssemblyAI', () => {
    const secretId = resourcesOfType(dev.json, 'AWS::SecretsManager::Secret')[0]?.[0];
    const withSecretId = STEPS.filter(
      (step) => 'ASSEMBLYAI_API_KEY_SECRET_ID' in environmentOf(dev.json, step),
    );

    expect(withSecretId).toEqual([
      'submit-transcription',
      'check-transcript',
      'persist-result',
      'record-failure',
    ]);
    for (const step of STEPS) {
      const env = environmentOf(dev.json, step);
      for (const [name, value] of Object.entries(env)) {
        const text = JSON.stringify(value);
        expect(text).not.toMatch(/resolve:secretsmanager|"SecretString"/);
        if (text.includes(String(secretId))) {
          // A Ref to a secret is its ARN; only the id variable may carry it.
          expect([name, value]).toEqual(['ASSEMBLYAI_API_KEY_SECRET_ID', { Ref: secretId }]);
        }
      }
      expect(Object.keys(env).filter((n) => /API_KEY$/.test(n))).toEqual([]);
    }
  });

  it('keeps the key out of the template: no parameters, no secret value, no dynamic reference', () => {
    const text = JSON.stringify(dev.json);

    expect(Object.keys(dev.json.Parameters ?? {})).toEqual(['BootstrapVersion']);
    expect(text).not.toContain('resolve:secretsmanager');
    expect(text).not.toMatch(/"SecretString"/);
    dev.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'wisevoice/transcription/dev/assemblyai-api-key',
      GenerateSecretString: {},
    });
  });

  it('filters WARN logs with Powertools, never with Lambda (which would drop the metric lines)', () => {
    const quiet = synth({ logLevel: 'WARN' });

    expect(environmentOf(quiet.json, 'submit-transcription')).toMatchObject({ POWERTOOLS_LOG_LEVEL: 'WARN' });
    expect(functionOf(quiet.json, 'submit-transcription').props.LoggingConfig).toMatchObject({
      ApplicationLogLevel: 'INFO',
    });
  });

  it('passes the speech models and the language policy from context', () => {
    const custom = synth({
      speechModels: 'universal-2',
      expectedLanguages: 'all',
      fallbackLanguage: 'auto',
      languageConfidenceThreshold: '0.4',
    });

    for (const step of ['submit-transcription', 'check-transcript']) {
      expect(environmentOf(custom.json, step)).toMatchObject({
        ASSEMBLYAI_SPEECH_MODELS: 'universal-2',
        ASSEMBLYAI_EXPECTED_LANGUAGES: 'all',
        ASSEMBLYAI_FALLBACK_LANGUAGE: 'auto',
        ASSEMBLYAI_LANGUAGE_CONFIDENCE_THRESHOLD: '0.4',
      });
    }
  });

  it('refuses to synthesize with a deprecated speech model', () => {
    expect(() => synth({ speechModels: 'universal-3-pro,universal-2' })).toThrow(/deprecated/);
  });

  it('follows context: EU endpoint, log level, limits and poll deadline', () => {
    const custom = synth({
      assemblyaiRegion: 'eu',
      logLevel: 'DEBUG',
      maxAudioSeconds: '7200',
      maxAudioBytes: '524288000',
      pollDeadlineBaseSeconds: '600',
      logRetentionDays: '90',
    });
    const fn = functionOf(custom.json, 'check-transcript');

    expect(environmentOf(custom.json, 'check-transcript')).toMatchObject({
      ASSEMBLYAI_BASE_URL: 'https://api.eu.assemblyai.com',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      MAX_AUDIO_SECONDS: '7200',
      MAX_AUDIO_BYTES: '524288000',
      POLL_DEADLINE_BASE_SECONDS: '600',
    });
    expect(fn.props.LoggingConfig).toMatchObject({ ApplicationLogLevel: 'DEBUG' });
    for (const [, group] of resourcesOfType(custom.json, 'AWS::Logs::LogGroup')) {
      expect(group.Properties.RetentionInDays).toBe(90);
    }
  });
});
