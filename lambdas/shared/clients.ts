/**
 * The provider and its API key, built once per cold start from the environment, for the steps
 * that call AssemblyAI. Tests and the local runner swap them by injecting their own into the step
 * functions instead. A step that needs only S3 imports `s3-client.ts`, not this module, which
 * brings the AssemblyAI SDK, Powertools Parameters and the Secrets Manager client.
 */

import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAssemblyAIProvider, type TranscriptionProvider } from './assemblyai.js';
import type { WorkflowConfig } from './config.js';
import { ConfigurationError, ProviderUnavailable } from './errors.js';

/** Re-exported for the steps that need both (Submit, Check, Persist, Record failure, Finalize). */
export { createS3Client } from './s3-client.js';

/** How long a fetched API key is reused before Secrets Manager is asked again (rotation delay). */
const SECRET_MAX_AGE_SECONDS = 300;

/** A secret's string, cached by Powertools Parameters for SECRET_MAX_AGE_SECONDS. */
function secretReader(tracer: Tracer, secretId: string, what: string): () => Promise<string> {
  const secrets = new SecretsProvider({
    awsSdkV3Client: tracer.captureAWSv3Client(new SecretsManagerClient({})),
  });
  return async () => {
    let value: unknown;
    try {
      value = await secrets.get(secretId, { maxAge: SECRET_MAX_AGE_SECONDS });
    } catch {
      // Throttling or a Secrets Manager hiccup: retried like any provider outage (a missing or
      // forbidden secret fails the same way after the retries, with this message in the result).
      throw new ProviderUnavailable(`${what} could not be read from Secrets Manager`);
    }
    if (typeof value !== 'string' || value.trim() === '') {
      throw new ConfigurationError(`${what} secret is empty`);
    }
    return value.trim();
  };
}

/**
 * Where the AssemblyAI key comes from: Secrets Manager (`ASSEMBLYAI_API_KEY_SECRET_ID`, deployed;
 * cached by Powertools Parameters) or `ASSEMBLYAI_API_KEY` (local runs only).
 */
export function apiKeySource(tracer: Tracer, env = process.env): () => Promise<string> {
  const secretId = env.ASSEMBLYAI_API_KEY_SECRET_ID?.trim();
  if (secretId) return secretReader(tracer, secretId, 'The AssemblyAI API key');
  const key = env.ASSEMBLYAI_API_KEY?.trim();
  if (key) return async () => key;
  throw new ConfigurationError('Set ASSEMBLYAI_API_KEY_SECRET_ID (deployed) or ASSEMBLYAI_API_KEY (local)');
}

/**
 * The header AssemblyAI sends back with every webhook delivery (it signs nothing): its value is a
 * random secret of the deployment, which receive-webhook compares in constant time.
 */
export const WEBHOOK_AUTH_HEADER = 'X-Transcription-Webhook-Secret';

/** The webhook secret: Secrets Manager (`WEBHOOK_SECRET_ID`, deployed) or `WEBHOOK_SECRET` (local runs only). */
export function webhookSecretSource(tracer: Tracer, env = process.env): () => Promise<string> {
  const secretId = env.WEBHOOK_SECRET_ID?.trim();
  if (secretId) return secretReader(tracer, secretId, 'The webhook secret');
  const secret = env.WEBHOOK_SECRET?.trim();
  if (secret) return async () => secret;
  throw new ConfigurationError('Set WEBHOOK_SECRET_ID (deployed) or WEBHOOK_SECRET (local) in webhook mode');
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
