/**
 * The provider and its API key, built once per cold start from the environment, for the steps
 * that call AssemblyAI. Tests and the local runner swap them by injecting their own into the step
 * functions instead. A step that needs only S3 imports `s3-client.ts`, not this module, which
 * brings the AssemblyAI SDK, Powertools Parameters and the Secrets Manager client.
 */

import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type ApiKeys, createAssemblyAIProvider, type TranscriptionProvider } from './assemblyai.js';
import type { WorkflowConfig } from './config.js';
import { ConfigurationError, ProviderUnavailable } from './errors.js';

/** Re-exported for the steps that need both (Submit, Check, Persist, Record failure, Finalize). */
export { createS3Client } from './s3-client.js';

/** How long a fetched API key is reused before Secrets Manager is asked again (rotation delay). */
export const SECRET_MAX_AGE_SECONDS = 300;

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

export type { ApiKeys } from './assemblyai.js';

/** The field names of the secret's JSON form, `{"current": "…", "next": "…"}`. */
const API_KEY_FIELDS = ['current', 'next'] as const;

/**
 * The AssemblyAI key secret's value, in either of its two forms: the plain key string (as
 * always), or a JSON object `{"current": "…", "next": "…"}` while a key rotation is under way
 * (`next` optional: the key replacing `current`, tried when `current` is refused). The one place
 * that reads it, for the Lambdas and for `transcription rotate-key`. Errors never quote the value.
 */
export function parseApiKeySecret(value: string): ApiKeys {
  const text = value.trim();
  if (text === '') throw new ConfigurationError('The AssemblyAI API key secret is empty');
  if (!text.startsWith('{')) return { current: text };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text around the fault: part of a key.
    throw new ConfigurationError(
      'The AssemblyAI API key secret starts with "{" but is not valid JSON: expected the plain key or {"current": "…", "next": "…"}',
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigurationError('The AssemblyAI API key secret is not a JSON object');
  }
  const fields = parsed as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((name) => !(API_KEY_FIELDS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new ConfigurationError(
      `The AssemblyAI API key secret has unknown field(s) ${unknown.map((name) => JSON.stringify(name)).join(', ')}: only "current" and "next" are read`,
    );
  }
  const keyField = (name: (typeof API_KEY_FIELDS)[number]) => {
    const field = fields[name];
    if (field === undefined || field === null) return undefined;
    if (typeof field !== 'string' || field.trim() === '') {
      throw new ConfigurationError(`The AssemblyAI API key secret's "${name}" must be a non-empty string`);
    }
    return field.trim();
  };
  const current = keyField('current');
  if (current === undefined) {
    throw new ConfigurationError(
      'The AssemblyAI API key secret\'s JSON form needs "current", the key in use',
    );
  }
  const next = keyField('next');
  return next === undefined || next === current ? { current } : { current, next };
}

/**
 * Where the AssemblyAI key comes from: Secrets Manager (`ASSEMBLYAI_API_KEY_SECRET_ID`, deployed;
 * cached by Powertools Parameters) or `ASSEMBLYAI_API_KEY` (local runs only), either holding the
 * plain key or the JSON form of `parseApiKeySecret`.
 */
export function apiKeySource(tracer: Tracer, env = process.env): () => Promise<ApiKeys> {
  const secretId = env.ASSEMBLYAI_API_KEY_SECRET_ID?.trim();
  if (secretId) {
    const read = secretReader(tracer, secretId, 'The AssemblyAI API key');
    // Parsed at every call (microseconds): the cache holds the string as Secrets Manager sent it.
    return async () => parseApiKeySecret(await read());
  }
  const key = env.ASSEMBLYAI_API_KEY?.trim();
  if (key) {
    const keys = parseApiKeySecret(key);
    return async () => keys;
  }
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
