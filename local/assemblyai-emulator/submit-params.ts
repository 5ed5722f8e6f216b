/** Validates a `POST /v2/transcript` body with the 400 messages AssemblyAI uses for bad parameters. */
import type { SubmitParams } from './transcripts.js';

const BOOLEAN_FIELDS = ['speaker_labels', 'language_detection', 'punctuate', 'format_text'] as const;
const OPTIONAL_STRING_FIELDS = ['language_code', 'webhook_url', 'webhook_auth_header_name'] as const;

const isHttpUrl = (value: unknown): value is string => {
  if (typeof value !== 'string') return false;
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
};

/** Returns the parameters, or the `error` text of a 400 answer. */
export function parseSubmitParams(body: unknown): SubmitParams | { error: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { error: 'Request body must be a JSON object' };
  }
  const fields = body as Record<string, unknown>;
  if (fields.audio_url === undefined || fields.audio_url === null) return { error: 'audio_url is required' };
  if (!isHttpUrl(fields.audio_url)) return { error: 'audio_url must be a valid http or https URL' };
  const models = fields.speech_models;
  if (
    !Array.isArray(models) ||
    models.length === 0 ||
    !models.every((m) => typeof m === 'string' && m !== '')
  ) {
    return { error: 'speech_models must be a non-empty list of supported model names' };
  }
  for (const name of BOOLEAN_FIELDS) {
    const value = fields[name];
    if (value !== undefined && value !== null && typeof value !== 'boolean')
      return { error: `${name} must be a Boolean` };
  }
  for (const name of OPTIONAL_STRING_FIELDS) {
    const value = fields[name];
    if (value !== undefined && value !== null && typeof value !== 'string')
      return { error: `${name} must be a String` };
  }
  const speakers = fields.speakers_expected;
  if (
    speakers !== undefined &&
    speakers !== null &&
    !(Number.isInteger(speakers) && (speakers as number) >= 1)
  ) {
    return { error: 'speakers_expected must be a positive Integer' };
  }
  return fields as unknown as SubmitParams;
}
