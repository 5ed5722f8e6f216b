/** Where the AssemblyAI key comes from: Secrets Manager when deployed, the environment locally. */

import { Tracer } from '@aws-lambda-powertools/tracer';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { apiKeySource } from '../../lambdas/shared/clients.js';
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

    expect([first, second]).toEqual(['the-key', 'the-key']);
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
    expect(await apiKeySource(tracer, { ASSEMBLYAI_API_KEY: 'local-key' })()).toBe('local-key');
    expect(() => apiKeySource(tracer, {})).toThrow(/ASSEMBLYAI_API_KEY_SECRET_ID/);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });
});
