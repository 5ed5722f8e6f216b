/** "Persist result": the completed result where the bot reads it, and every other copy removed. */

import { WebVTTParser } from 'webvtt-parser';
import { persistResult } from '../../lambdas/persist-result/persist-result.js';
import type { TranscriptionProvider } from '../../lambdas/shared/assemblyai.js';
import type { CompletedResult, OutputFormat } from '../../lambdas/shared/contracts.js';
import type { FormattedState, SegmentsDocument } from '../../lambdas/shared/workflow-state.js';
import type { AssemblyAIEmulator } from '../../local/assemblyai-emulator/emulator.js';
import {
  newExecution,
  REQUEST,
  rejectionOf,
  startEmulatedProvider,
  startTestS3,
  submittedState,
  type TestS3,
  testConfig,
} from './step-fixtures.js';

const STARTED = new Date('2026-03-01T10:00:00.000Z');
const now = () => new Date(STARTED.getTime() + 45_200);
const config = testConfig();

const DOCUMENT: SegmentsDocument = {
  transcript_id: 'replaced-per-test',
  language_code: 'ru',
  language_confidence: 0.93,
  speech_model_used: 'universal-2',
  audio_duration: 3.8,
  segments: [
    { speaker: 'A', text: 'Привет, как дела?', start: 0.25, end: 1.9 },
    { speaker: 'B', text: 'Хорошо, спасибо.', start: 2.1, end: 3.6 },
  ],
};

let s3: TestS3;
let emulator: AssemblyAIEmulator;
let provider: TranscriptionProvider;

/** A finished execution: a real job on the emulator, its transcript and segments in the work prefix. */
async function formattedState(request = REQUEST): Promise<FormattedState> {
  const execution = newExecution(STARTED);
  const job = await provider.submit({ audioUrl: 'http://127.0.0.1:9/unused.ogg' });
  const base = submittedState({ id: job.id, status: 'completed' }, execution);
  const transcriptKey = `work/${execution.name}/transcript.json`;
  const segmentsKey = `work/${execution.name}/segments.json`;
  await s3.put(transcriptKey, JSON.stringify({ id: job.id, text: 'raw transcript' }));
  await s3.put(segmentsKey, JSON.stringify({ ...DOCUMENT, transcript_id: job.id }));
  await s3.put(`work/${execution.name}/submission.json`, JSON.stringify({ transcript_id: job.id }));
  return {
    ...base,
    request,
    transcript: { ...base.transcript, transcript_key: transcriptKey },
    segments: { key: segmentsKey, total_segments: 2, audio_duration: 3.8, language_code: 'ru' },
  };
}

beforeAll(async () => {
  s3 = await startTestS3();
});

beforeEach(async () => {
  ({ emulator, provider } = await startEmulatedProvider(config));
  await s3.clear('results/');
});

afterEach(async () => {
  await emulator.close();
});

afterAll(async () => {
  await s3.stop();
});

describe('persistResult', () => {
  it('writes the result at results/{user_id}/{file_id}.json as UTF-8 JSON', async () => {
    // Arrange
    const state = await formattedState();

    // Act
    const persisted = await persistResult(state, { s3: s3.client, provider, config, now });

    // Assert
    expect(persisted).toEqual({
      key: 'results/123/abc-123.json',
      status: 'completed',
      provider_copy_deleted: true,
    });
    const object = await s3.get('results/123/abc-123.json');
    expect(object?.contentType).toBe('application/json; charset=utf-8');
    expect(object?.body).toContain('Привет, как дела?');
  });

  it('writes every field of the result contract', async () => {
    // Arrange
    const state = await formattedState();

    // Act
    await persistResult(state, { s3: s3.client, provider, config, now });

    // Assert
    const result = JSON.parse((await s3.get('results/123/abc-123.json'))?.body ?? 'null') as CompletedResult;
    expect(result).toEqual({
      status: 'completed',
      file_id: 'abc-123',
      user_id: 123,
      segments: DOCUMENT.segments,
      metadata: {
        total_segments: 2,
        processing_time: 45.2,
        audio_duration: 3.8,
        language_code: 'ru',
        language_confidence: 0.93,
        speech_model_used: 'universal-2',
        transcript_id: state.transcript.id,
        execution_arn: state.execution.arn,
        s3_key: REQUEST.s3_key,
        audio_etag: state.audio.etag ?? null,
      },
    });
  });

  it('deletes the transcript at the provider and the work objects of the execution', async () => {
    // Arrange
    const state = await formattedState();

    // Act
    await persistResult(state, { s3: s3.client, provider, config, now });

    // Assert
    expect(emulator.stats().deletes).toBe(1);
    expect((await provider.get(state.transcript.id)).text).toBe('Deleted by user.');
    expect(await s3.keys(`work/${state.execution.name}/`)).toEqual([]);
    expect(await s3.exists(`work/${state.execution.name}/submission.json`)).toBe(false);
  });

  it('returns without error when retried after it succeeded, leaving the result as it was', async () => {
    // Arrange
    const state = await formattedState();
    const first = await persistResult(state, { s3: s3.client, provider, config, now });
    const written = await s3.get(first.key);

    // Act
    const retried = await persistResult(state, {
      s3: s3.client,
      provider,
      config,
      now: () => new Date(STARTED.getTime() + 99_000),
    });

    // Assert
    expect(retried).toEqual(first);
    expect(await s3.get(first.key)).toEqual(written);
    expect(emulator.stats().deletes).toBe(1);
  });

  it('refuses to report success when the segments are gone and the result belongs to another execution', async () => {
    // Arrange
    const state = await formattedState();
    await persistResult(state, { s3: s3.client, provider, config, now });
    const other: FormattedState = {
      ...state,
      execution: { ...state.execution, arn: `${state.execution.arn}-other` },
    };

    // Act
    const error = await rejectionOf(persistResult(other, { s3: s3.client, provider, config, now }));

    // Assert
    expect(error.message).toMatch(/segments are missing/);
  });

  it('still writes the result when the provider copy cannot be deleted, and says so', async () => {
    // Arrange
    const state = await formattedState({ ...REQUEST, file_id: 'delete-fails' });
    emulator.injectFault({ kind: 'server-error', status: 503, on: 'delete' });
    const warnings: string[] = [];
    const logger = { warn: (message: string) => void warnings.push(message) };

    // Act
    const persisted = await persistResult(state, { s3: s3.client, provider, config, now, logger });

    // Assert
    expect(persisted.provider_copy_deleted).toBe(false);
    expect(await s3.exists('results/123/delete-fails.json')).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(await s3.keys(`work/${state.execution.name}/`)).toEqual([]);
  });

  it('keeps the provider copy when DELETE_TRANSCRIPT_AFTER_PERSIST is false', async () => {
    // Arrange
    const keep = testConfig({ DELETE_TRANSCRIPT_AFTER_PERSIST: 'false' });
    const state = await formattedState({ ...REQUEST, file_id: 'keep-copy' });

    // Act
    const persisted = await persistResult(state, { s3: s3.client, provider, config: keep, now });

    // Assert
    expect(persisted.provider_copy_deleted).toBe(false);
    expect(emulator.stats().deletes).toBe(0);
  });

  it('writes under a configured RESULTS_PREFIX', async () => {
    // Arrange
    const custom = testConfig({ RESULTS_PREFIX: 'bot/results/' });
    const state = await formattedState({ ...REQUEST, user_id: 77, file_id: 'prefixed' });

    // Act
    const persisted = await persistResult(state, { s3: s3.client, provider, config: custom, now });

    // Assert
    expect(persisted.key).toBe('bot/results/77/prefixed.json');
    expect(await s3.exists('bot/results/77/prefixed.json')).toBe(true);
  });
});

describe('persistResult with outputs and speaker names', () => {
  /** A finished execution that asked for these outputs with A named Anna, rendered as given. */
  async function namedWithOutputs(outputs: Partial<Record<OutputFormat, string>>): Promise<FormattedState> {
    const formats = Object.keys(outputs) as OutputFormat[];
    const state = await formattedState({ ...REQUEST, outputs: formats, speaker_names: { A: 'Anna' } });
    const document = {
      ...DOCUMENT,
      transcript_id: state.transcript.id,
      speaker_names: { A: 'Anna' },
      outputs,
    };
    await s3.put(state.segments.key, JSON.stringify(document));
    return state;
  }

  it('writes each output beside the result before it, and lists their keys and the names in the metadata', async () => {
    const vtt = 'WEBVTT\n\n00:00:00.250 --> 00:00:01.900\n<v Anna>Привет, как дела?</v>\n';
    const state = await namedWithOutputs({ vtt, txt: 'Anna: Привет, как дела?\n' });

    await persistResult(state, { s3: s3.client, provider, config, now });

    const result = JSON.parse((await s3.get('results/123/abc-123.json'))?.body ?? 'null') as CompletedResult;
    expect(result.metadata.outputs).toEqual({
      vtt: 'results/123/abc-123.vtt',
      txt: 'results/123/abc-123.txt',
    });
    expect(result.metadata.speaker_names).toEqual({ A: 'Anna' });
    const written = await s3.get('results/123/abc-123.vtt');
    expect(written?.contentType).toBe('text/vtt; charset=utf-8');
    expect(new WebVTTParser().parse(written?.body ?? '', 'metadata').cues).toHaveLength(1);
    expect((await s3.get('results/123/abc-123.txt'))?.contentType).toBe('text/plain; charset=utf-8');
  });

  it('leaves the outputs of another execution’s result of this audio, which stays, as they were', async () => {
    const state = await namedWithOutputs({
      srt: '1\n00:00:00,250 --> 00:00:01,900\nAnna: Привет\n',
      vtt: 'WEBVTT\n',
    });
    const earlier = {
      status: 'completed',
      file_id: REQUEST.file_id,
      user_id: REQUEST.user_id,
      segments: DOCUMENT.segments,
      metadata: {
        execution_arn: 'arn:aws:states:eu-central-1:123456789012:execution:transcription:earlier',
        s3_key: REQUEST.s3_key,
        audio_etag: state.audio.etag,
        outputs: { srt: 'results/123/abc-123.srt' },
      },
    };
    await s3.put('results/123/abc-123.json', JSON.stringify(earlier));
    const earlierSrt = '1\n00:00:00,250 --> 00:00:01,900\nA: Привет\n';
    await s3.put('results/123/abc-123.srt', earlierSrt);

    await persistResult(state, { s3: s3.client, provider, config, now });

    expect(JSON.parse((await s3.get('results/123/abc-123.json'))?.body ?? 'null')).toEqual(earlier);
    expect((await s3.get('results/123/abc-123.srt'))?.body).toBe(earlierSrt);
    expect(await s3.keys('results/123/abc-123.')).toEqual([
      'results/123/abc-123.json',
      'results/123/abc-123.srt',
    ]);
  });

  it('writes no output and no such metadata for a request without them', async () => {
    const state = await formattedState();

    await persistResult(state, { s3: s3.client, provider, config, now });

    const result = JSON.parse((await s3.get('results/123/abc-123.json'))?.body ?? 'null') as CompletedResult;
    expect(result.metadata).not.toHaveProperty('outputs');
    expect(result.metadata).not.toHaveProperty('speaker_names');
    expect(await s3.keys('results/123/abc-123.')).toEqual(['results/123/abc-123.json']);
  });
});
