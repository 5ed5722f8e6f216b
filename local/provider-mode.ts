/**
 * Which AssemblyAI a local run talks to, for `npm start` and `npm run serve` alike: the bundled
 * emulator without ASSEMBLYAI_API_KEY; an emulator the developer started when the key comes with
 * a loopback ASSEMBLYAI_BASE_URL; otherwise the real service — which downloads the audio from a
 * presigned URL, so it then needs a real bucket instead of the embedded S3.
 */

/** The embedded S3's bucket in local runs. */
export const LOCAL_BUCKET = 'wisevoice-transcription-local';

export type ProviderMode = 'bundled-emulator' | 'local-emulator' | 'assemblyai';

export function providerMode(env: NodeJS.ProcessEnv = process.env): ProviderMode {
  if (!env.ASSEMBLYAI_API_KEY?.trim()) return 'bundled-emulator';
  const baseUrl = env.ASSEMBLYAI_BASE_URL?.trim();
  const host = baseUrl ? new URL(baseUrl).hostname : '';
  return ['127.0.0.1', 'localhost', '[::1]'].includes(host) ? 'local-emulator' : 'assemblyai';
}
