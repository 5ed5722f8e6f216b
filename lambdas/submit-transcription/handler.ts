/** Lambda entry point for "Submit to AssemblyAI". */
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { createProvider, createS3Client } from '../shared/clients.js';
import { loadConfig } from '../shared/config.js';
import { createStepTools, defineStep, stateCorrelation } from '../shared/observability.js';
import type { ValidatedState } from '../shared/workflow-state.js';
import {
  type AudioUrlSigner,
  createAudioUrlSigner,
  SIGNER_SESSION_SECONDS,
  s3ClientLike,
  signerOfClient,
} from './audio-url-signer.js';
import { submitTranscription } from './submit-transcription.js';

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

export const handler = defineStep(tools, stateCorrelation, async (state: ValidatedState, { logger }) => {
  const job = await submitTranscription(state, { s3, provider, config, signer });
  logger.appendKeys({ transcript_id: job.id });
  return job;
});
