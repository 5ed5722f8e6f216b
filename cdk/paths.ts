/** Where the stack finds the project's files, independent of the directory `cdk` runs from. */
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const LOCK_FILE = `${PROJECT_ROOT}package-lock.json`;
export const STATE_MACHINE_DEFINITION = `${PROJECT_ROOT}statemachine/transcription.asl.json`;

/** `lambdas/{step}/handler.ts`: each step's Lambda entry point. */
export function handlerEntry(step: string): string {
  return `${PROJECT_ROOT}lambdas/${step}/handler.ts`;
}

/** The bundled sample (a few seconds of speech): the live canary transcribes it in the deployed stack. */
export const CANARY_SAMPLE_AUDIO = `${PROJECT_ROOT}local/sample/sample.ogg`;
