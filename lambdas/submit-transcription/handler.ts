/**
 * Lambda entry point for "Submit to AssemblyAI" (the state itself) and, in webhook mode, for
 * "Submit, then wait for the webhook", whose `.waitForTaskToken` payload is `{state, task_token}`.
 */
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import {
  createProvider,
  createS3Client,
  WEBHOOK_AUTH_HEADER,
  webhookSecretSource,
} from '../shared/clients.js';
import { loadConfig } from '../shared/config.js';
import { ConfigurationError } from '../shared/errors.js';
import { createStepTools, defineStep, stateCorrelation } from '../shared/observability.js';
import { createTaskCallbacks } from '../shared/task-callbacks.js';
import type { ValidatedState } from '../shared/workflow-state.js';
import {
  type AudioUrlSigner,
  createAudioUrlSigner,
  SIGNER_SESSION_SECONDS,
  s3ClientLike,
  signerOfClient,
} from './audio-url-signer.js';
import { submitAndAwaitWebhook, submitTranscription } from './submit-transcription.js';

const tools = createStepTools('submit-transcription');
const config = loadConfig();
const s3 = createS3Client(tools.tracer);
const provider = createProvider(config, tools.tracer);

/** Deployed: sessions of the stack's signer role, whose expiry STS states (see audio-url-signer.ts). */
function audioUrlSigner(roleArn = process.env.AUDIO_URL_SIGNER_ROLE_ARN?.trim()): AudioUrlSigner {
  if (!roleArn) return signerOfClient(s3);
  return createAudioUrlSigner({
    credentials: fromTemporaryCredentials({
      params: { RoleArn: roleArn, RoleSessionName: 'audio-url', DurationSeconds: SIGNER_SESSION_SECONDS },
    }),
    clientFor: (credentials) => s3ClientLike(s3, credentials),
  });
}

const signer = audioUrlSigner();

/** Webhook mode only: where AssemblyAI delivers, its secret header, and the task-token client. */
function webhookDeps() {
  const url = process.env.WEBHOOK_URL?.trim();
  if (!url || !/^https?:\/\//.test(url))
    throw new ConfigurationError('WEBHOOK_URL must be an http(s) URL in webhook mode');
  return { url, secret: webhookSecretSource(tools.tracer), tasks: createTaskCallbacks(tools.tracer) };
}
const webhook = config.delivery === 'webhook' ? webhookDeps() : undefined;

type SubmitEvent = ValidatedState | { state: ValidatedState; task_token: string };

const stateOf = (event: SubmitEvent): ValidatedState => ('task_token' in event ? event.state : event);

export const handler = defineStep(
  tools,
  (event: SubmitEvent) => stateCorrelation(stateOf(event)),
  async (event: SubmitEvent, { logger }) => {
    const deps = { s3, provider, config, signer };
    let job: Awaited<ReturnType<typeof submitTranscription>>;
    if ('task_token' in event) {
      if (!webhook)
        throw new ConfigurationError('A task token was passed, but TRANSCRIPT_DELIVERY is not webhook');
      job = await submitAndAwaitWebhook(event.state, event.task_token, {
        ...deps,
        tasks: webhook.tasks,
        webhook: {
          url: webhook.url,
          authHeaderName: WEBHOOK_AUTH_HEADER,
          authHeaderValue: await webhook.secret(),
        },
      });
    } else {
      job = await submitTranscription(event, deps);
    }
    logger.appendKeys({ transcript_id: job.id });
    return job;
  },
  // Webhook mode: the task token (Submit) and the secret header (receiver) must never reach a log.
  { eventHoldsSecrets: true },
);
