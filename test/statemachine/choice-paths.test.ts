/**
 * A Choice or Wait whose path is missing fails the execution with States.Runtime, which no Catch
 * handles (no result, the job never deleted). This proves every such path in the definition is one
 * the state before always sets: each path is produced by a step named here, and that step's real
 * code, fed every kind of answer AssemblyAI can give (and many it should not), either sets the value
 * or throws a typed error, which the Task's Catch routes to Record failure.
 */

import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from '@jest/globals';
import { checkTranscript } from '../../lambdas/check-transcript/check-transcript.js';
import {
  type ProviderTranscript,
  providerJobOf,
  type TranscriptionProvider,
} from '../../lambdas/shared/assemblyai.js';
import { isErrorType } from '../../lambdas/shared/errors.js';
import type { SubmittedState } from '../../lambdas/shared/workflow-state.js';
import { readDefinition } from '../../local/workflow.js';
import { assemblyaiFixture, submittedState, testConfig } from '../lambdas/step-fixtures.js';

interface ChoiceRule {
  Variable?: string;
  IsPresent?: boolean;
  StringEquals?: string;
  Next?: string;
}
type State = { Type: string; Choices?: ChoiceRule[]; SecondsPath?: string; ResultPath?: string };

const definition = readDefinition() as unknown as { States: Record<string, State> };

/** Paths a Choice or Wait reads without IsPresent, and the Task whose result sets them. */
const PRODUCED_BY: Record<string, string[]> = {
  // "Submit and wait for webhook" resumes with what receive-webhook sends: concludeJob, as Check.
  '$.transcript.status': ['Submit to AssemblyAI', 'Submit and wait for webhook', 'Check transcript status'],
  '$.transcript.wait_seconds': [
    'Submit to AssemblyAI',
    'Submit and wait for webhook',
    'Check transcript status',
  ],
};

const completed = assemblyaiFixture<ProviderTranscript>('completed-diarized.openapi-Transcript-example.json');
const queued = assemblyaiFixture<ProviderTranscript>('queued.go-sdk-testdata.json');

/** Every answer a status check may get: the real shapes, and 200s that are not transcripts. */
const ANSWERS: [string, unknown][] = [
  ['queued', { ...queued, status: 'queued' }],
  ['processing', { ...queued, status: 'processing' }],
  ['completed', completed],
  ['error', { ...queued, status: 'error', error: 'Server error, developers have been alerted.' }],
  ['error without text', { ...queued, status: 'error', error: null }],
  ['deleted', { ...completed, audio_url: 'http://deleted_by_user', text: 'Deleted by user.' }],
  ['{}', {}],
  ['a string', 'Service Unavailable'],
  ['null', null],
  ['an array', [completed]],
  ['no status', { ...completed, status: undefined }],
  ['status null', { ...completed, status: null }],
  ['status a number', { ...completed, status: 2 }],
  ['unknown status', { ...completed, status: 'done' }],
  ['another id', { ...completed, id: 'other' }],
];

describe('Choice and Wait paths', () => {
  it('reads, outside IsPresent, only paths a named step sets', () => {
    const read = Object.values(definition.States).flatMap((state) => [
      ...(state.Choices ?? []).filter((c) => c.IsPresent === undefined).map((c) => c.Variable),
      ...(state.SecondsPath ? [state.SecondsPath] : []),
    ]);
    expect(read.length).toBeGreaterThan(0);
    for (const path of read) expect(Object.keys(PRODUCED_BY)).toContain(path);
    for (const producers of Object.values(PRODUCED_BY)) {
      for (const name of producers) expect(definition.States[name]?.ResultPath).toBe('$.transcript');
    }
  });

  it.each(ANSWERS)(
    'Check sets status and wait_seconds, or throws a typed error, for an answer of %s',
    async (_label, answer) => {
      // Arrange
      const state = submittedState({ status: 'processing' }) as SubmittedState;
      // Through the provider's own reading of the bytes, as AssemblyAI would send them.
      const bytes = Buffer.from(JSON.stringify(answer));
      const provider = { get: async () => providerJobOf(bytes) } as unknown as TranscriptionProvider;
      const s3 = { send: async () => ({}) } as unknown as S3Client;
      const now = () => new Date(new Date(state.transcript.submitted_at).getTime() + 5_000);
      const choices = definition.States['Transcript ready?']?.Choices?.map((c) => c.StringEquals) ?? [];

      // Act
      let outcome: Awaited<ReturnType<typeof checkTranscript>> | Error;
      try {
        outcome = await checkTranscript(state, { s3, provider, config: testConfig(), now });
      } catch (error) {
        outcome = error as Error;
      }

      // Assert
      if (outcome instanceof Error) {
        expect(isErrorType(outcome.name)).toBe(true);
      } else {
        expect(['queued', 'processing', ...choices]).toContain(outcome.status);
        expect(Number.isFinite(outcome.wait_seconds)).toBe(true);
        expect(outcome.wait_seconds).toBeGreaterThanOrEqual(0);
        if (outcome.status === 'error') {
          // "AssemblyAI reported an error" reads both with Parameters paths
          expect(isErrorType(outcome.error?.type)).toBe(true);
          expect(typeof outcome.error?.message).toBe('string');
        }
      }
    },
  );
});
