/**
 * Where the AssemblyAI key comes from: Secrets Manager when deployed, the environment locally; and
 * the secret's two forms, the plain key or `{"current", "next"}` during a key rotation.
 */

import { Tracer } from '@aws-lambda-powertools/tracer';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { apiKeySource, parseApiKeySecret } from '../../lambdas/shared/clients.js';
import { rejectionOf } from './step-fixtures.js';

const secrets = mockClient(SecretsManagerClient);
const tracer = new Tracer({ enabled: false });
const deployed = {
  ASSEMBLYAI_API_KEY_SECRET_ID: 'arn:aws:secretsmanager:eu-central-1:1:secret:key',
  AWS_REGION: 'eu-central-1',
};

beforeEach(() => {
  secrets.reset();
});

afterAll(() => {
  secrets.restore();
});

describe('apiKeySource', () => {
  it('reads the key from the secret and caches it between calls', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: ' the-key \n' });
    const key = apiKeySource(tracer, deployed);

    const first = await key();
    const second = await key();

    expect([first, second]).toEqual([{ current: 'the-key' }, { current: 'the-key' }]);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('turns a Secrets Manager failure into ProviderUnavailable, which the state machine retries', async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    const error = await rejectionOf(apiKeySource(tracer, deployed)());

    expect(error.name).toBe('ProviderUnavailable');
    expect(error.message).not.toContain('Rate exceeded');
  });

  it('refuses an empty secret as a configuration error', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '  ' });

    const error = await rejectionOf(apiKeySource(tracer, deployed)());

    expect(error.name).toBe('ConfigurationError');
  });

  it('uses ASSEMBLYAI_API_KEY when no secret is configured (local runs), and fails fast with neither', async () => {
    expect(await apiKeySource(tracer, { ASSEMBLYAI_API_KEY: 'local-key' })()).toEqual({
      current: 'local-key',
    });
    expect(() => apiKeySource(tracer, {})).toThrow(/ASSEMBLYAI_API_KEY_SECRET_ID/);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });
});

describe('apiKeySource during a key rotation', () => {
  it('reads both keys of the JSON form from the secret', async () => {
    // Arrange
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '{"current": "old-key", "next": "new-key"}' });

    // Act
    const keys = await apiKeySource(tracer, deployed)();

    // Assert
    expect(keys).toEqual({ current: 'old-key', next: 'new-key' });
  });

  it('refuses a malformed JSON secret as a configuration error that quotes none of it', async () => {
    // Arrange
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '{"current": "old-secret-key", next: }' });

    // Act
    const error = await rejectionOf(apiKeySource(tracer, deployed)());

    // Assert
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toContain('not valid JSON');
    expect(error.message).not.toContain('old-secret-key');
  });

  it('accepts the JSON form in ASSEMBLYAI_API_KEY too (local runs), failing fast when it is malformed', async () => {
    expect(await apiKeySource(tracer, { ASSEMBLYAI_API_KEY: '{"current":"a","next":"b"}' })()).toEqual({
      current: 'a',
      next: 'b',
    });
    expect(() => apiKeySource(tracer, { ASSEMBLYAI_API_KEY: '{"next":"b"}' })).toThrow(/"current"/);
  });
});

describe('parseApiKeySecret', () => {
  it.each<[string, { current: string; next?: string }]>([
    ['plain-key', { current: 'plain-key' }],
    ['  plain-key\n', { current: 'plain-key' }],
    ['{"current": "a"}', { current: 'a' }],
    ['{"current": " a ", "next": " b "}', { current: 'a', next: 'b' }],
    ['{"current": "a", "next": null}', { current: 'a' }],
    ['{"current": "a", "next": "a"}', { current: 'a' }],
    ['\n{"next": "b", "current": "a"}\n', { current: 'a', next: 'b' }],
  ])('reads %p', (value, expected) => {
    expect(parseApiKeySecret(value)).toEqual(expected);
  });

  it.each<[string, RegExp]>([
    ['', /empty/],
    ['   ', /empty/],
    ['{"current": "secret-a"', /not valid JSON/],
    ['{}', /needs "current"/],
    ['{"current": ""}', /"current" must be a non-empty string/],
    ['{"current": "secret-a", "next": "  "}', /"next" must be a non-empty string/],
    ['{"current": 42}', /"current" must be a non-empty string/],
    ['{"current": "secret-a", "nxt": "secret-b"}', /unknown field\(s\) "nxt"/],
    ['{"current": "secret-a"} trailing', /not valid JSON/],
  ])('refuses %p as a ConfigurationError without quoting a key', (value, message) => {
    // Act
    let error: Error | undefined;
    try {
      parseApiKeySecret(value);
    } catch (caught) {
      error = caught as Error;
    }

    // Assert
    expect(error?.name).toBe('ConfigurationError');
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toMatch(/secret-[ab]/);
  });
});
