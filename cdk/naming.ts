/** Resource names in one place, so the console, the dashboard and the docs say the same thing. */

/** `wisevoice-transcription-{environment}`: the prefix of every named resource. */
export function namePrefix(environment: string): string {
  return `wisevoice-transcription-${environment}`;
}

/** `validate-audio` → `ValidateAudio`, for construct ids. */
export function pascalCase(kebab: string): string {
  return kebab.replace(/(^|-)([a-z0-9])/g, (_match, _dash, c: string) => c.toUpperCase());
}
