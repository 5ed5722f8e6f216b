/**
 * AWS clients and the provider, built once per cold start from the environment. Tests and the
 * local runner swap them by injecting their own into the step functions instead.
 */

import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAssemblyAIProvider, type TranscriptionProvider } from './assemblyai.js';
import type { WorkflowConfig } from './config.js';
import { ConfigurationError, ProviderUnavailable } from './errors.js';

/** S3 client; `S3_FORCE_PATH_STYLE=true` and `AWS_ENDPOINT_URL_S3` point it at a local emulator. */
export function createS3Client(tracer: Tracer, env = process.env): S3Client {
  return tracer.captureAWSv3Client(new S3Client({ forcePathStyle: env.S3_FORCE_PATH_STYLE === 'true' }));
}

/** How long a fetched API key is reused before Secrets Manager is asked again (rotation delay). */
const SECRET_MAX_AGE_SECONDS = 300;

/**
 * Where the AssemblyAI key comes from: Secrets Manager (`ASSEMBLYAI_API_KEY_SECRET_ID`, deployed;
 * cached by Powertools Parameters) or `ASSEMBLYAI_API_KEY` (local runs only).
 */
export function apiKeySource(tracer: Tracer, env = process.env): () => Promise<string> {
  const secretId = env.ASSEMBLYAI_API_KEY_SECRET_ID?.trim();
  if (secretId) {
    const secrets = new SecretsProvider({
      awsSdkV3Client: tracer.captureAWSv3Client(new SecretsManagerClient({})),
    });
    return async () => {
      let key: unknown;
      try {
        key = await secrets.get(secretId, { maxAge: SECRET_MAX_AGE_SECONDS });
      } catch {
        // Throttling or a Secrets Manager hiccup: retried like any provider outage (a missing or
        // forbidden secret fails the same way after the retries, with this message in the result).
        throw new ProviderUnavailable('The AssemblyAI API key could not be read from Secrets Manager');
      }
      if (typeof key !== 'string' || key.trim() === '') {
        throw new ConfigurationError('The AssemblyAI API key secret is empty');
      }
      return key.trim();
    };
  }
  const key = env.ASSEMBLYAI_API_KEY?.trim();
  if (key) return async () => key;
  throw new ConfigurationError('Set ASSEMBLYAI_API_KEY_SECRET_ID (deployed) or ASSEMBLYAI_API_KEY (local)');
}

export function createProvider(
  config: WorkflowConfig,
  tracer: Tracer,
  env = process.env,
): TranscriptionProvider {
  return createAssemblyAIProvider({
    apiKey: apiKeySource(tracer, env),
    baseUrl: config.assemblyai.baseUrl,
    speechModels: config.assemblyai.speechModels,
    languageDetection: config.assemblyai.languageDetection,
    timeoutMs: config.assemblyai.timeoutMs,
  });
}
