/**
 * End to end: `npm start`'s program (local/run.ts) as a user runs it, as a child process, on real
 * audio generated with espeak-ng + ffmpeg (test/fixtures/audio) and on files that are not audio.
 * The runs start together (each takes a few seconds of real Wait states) and are checked one by one.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TranscriptionResult } from '../../lambdas/shared/contracts.js';
import { type AssemblyAIEmulator, startEmulator } from '../../local/assemblyai-emulator/emulator.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const RUN = join(ROOT, 'local/run.ts');
const audio = (name: string) => join(ROOT, 'test/fixtures/audio', name);

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(cwd: string, args: string[], extraEnv: Record<string, string> = {}): Promise<CliRun> {
  const env = { ...process.env, ASSEMBLYAI_API_KEY: '', NODE_OPTIONS: '', ...extraEnv };
  return new Promise((resolve) => {
    execFile(TSX, [RUN, ...args], { cwd, env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

// Runs start together in one folder: each gets its own file id, so none reads another's result.
const CASES = {
  sample: [],
  sampleJson: ['--json', '--user-id', '7', '--file-id', 'voice-1'],
  ogg: [audio('hello.ogg'), '--json', '--file-id', 'e2e-ogg'],
  mp3: [audio('hello.mp3'), '--json', '--file-id', 'e2e-mp3'],
  m4a: [audio('hello.m4a'), '--json', '--file-id', 'e2e-m4a'],
  wav: [audio('hello.wav'), '--json', '--file-id', 'e2e-wav'],
  misnamed: [audio('hello-ogg-named.mp3'), '--json', '--file-id', 'e2e-misnamed'],
  text: [audio('not-audio.txt.mp3'), '--json', '--file-id', 'e2e-text'],
  empty: [audio('empty.mp3'), '--json', '--file-id', 'e2e-empty'],
  options: [
    '--file-id',
    'e2e-options',
    '--language',
    'ru',
    '--speaker-name',
    'A=Анна',
    '--output',
    'srt',
    '--output',
    'txt',
    '--redact-pii',
    '--pii-policy',
    'person_name',
  ],
  refusedOption: ['--file-id', 'e2e-refused', '--language', 'ru', '--keyterm', 'Сбербанк', '--json'],
  unknownOption: ['--foo'],
  badSpeakers: ['--speakers', 'x'],
  badSpeakerRange: ['--speakers-min', '0'],
  badSpeakerName: ['--speaker-name', 'Anna'],
} satisfies Record<string, string[]>;

let cwd: string;
let emulator: AssemblyAIEmulator;
let external: CliRun;
const runs: Partial<Record<keyof typeof CASES, CliRun>> = {};
const run = (name: keyof typeof CASES) => runs[name] as CliRun;
const json = (name: keyof typeof CASES) => JSON.parse(run(name).stdout) as TranscriptionResult;

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'transcription-e2e-'));
  // An emulator started on its own (as `npm run emulator` would be), answering the first submit with 429.
  emulator = await startEmulator({
    processingDelayMs: 200,
    faults: [{ kind: 'rate-limit', on: 'submit', times: 1 }],
  });
  await Promise.all([
    ...Object.entries(CASES).map(async ([name, args]) => {
      runs[name as keyof typeof CASES] = await runCli(cwd, args);
    }),
    runCli(cwd, ['--file-id', 'e2e-external'], {
      ASSEMBLYAI_BASE_URL: emulator.url,
      ASSEMBLYAI_API_KEY: emulator.apiKey,
    }).then((run) => {
      external = run;
    }),
  ]);
}, 120_000);

afterAll(async () => {
  await emulator.close();
  await rm(cwd, { recursive: true, force: true });
});

describe('npm start (local/run.ts)', () => {
  it('transcribes the bundled sample with no arguments and prints readable segments', () => {
    const { code, stdout, stderr } = run('sample');
    expect(code).toBe(0);
    expect(stdout).toBe(
      '[00:00.25] A: Привет, как дела?\n[00:01.92] B: Хорошо, спасибо. А у тебя?\n[00:04.35] A: Тоже хорошо.\n',
    );
    expect(stderr).toMatch(/AssemblyAI emulator/);
    expect(stderr).toMatch(/Result: s3:\/\/wisevoice-transcription-local\/results\/1\/sample\.json/);
    for (const state of [
      'Validate audio',
      'Submit to AssemblyAI',
      'Check transcript status',
      'Format segments',
      'Persist result',
    ]) {
      expect(stderr).toContain(`✓ ${state}`);
    }
  });

  it('prints only the result object on stdout with --json, for the given user and file id', () => {
    const { code } = run('sampleJson');
    const result = json('sampleJson');
    expect(code).toBe(0);
    expect(result).toMatchObject({ status: 'completed', user_id: 7, file_id: 'voice-1' });
    expect(result.status === 'completed' && result.metadata.total_segments).toBe(3);
  });

  it.each(['ogg', 'mp3', 'm4a', 'wav', 'misnamed'] as const)('transcribes real %s audio', (name) => {
    const { code, stderr } = run(name);
    const result = json(name);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.status).toBe('completed');
    expect(result.status === 'completed' && result.segments.length).toBe(1);
  });

  it('refuses a text file named .mp3 with UnsupportedAudioFormat and exit code 1', () => {
    const { code, stderr } = run('text');
    expect(code).toBe(1);
    expect(json('text')).toMatchObject({ status: 'failed', error: { type: 'UnsupportedAudioFormat' } });
    expect(stderr).toMatch(/Failed: UnsupportedAudioFormat/);
  });

  it('refuses an empty file with AudioEmpty and exit code 1', () => {
    expect(run('empty').code).toBe(1);
    expect(json('empty')).toMatchObject({ status: 'failed', error: { type: 'AudioEmpty' } });
  });

  it('passes the request options to the workflow: names in the segments, outputs written and listed', () => {
    const { code, stdout, stderr } = run('options');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\[00:00\.25\] Анна: Привет, как дела\?\n\[00:01\.92\] B: /);
    expect(stderr).toMatch(/Output: s3:\/\/wisevoice-transcription-local\/results\/1\/e2e-options\.srt/);
    expect(stderr).toMatch(/Output: s3:\/\/wisevoice-transcription-local\/results\/1\/e2e-options\.txt/);
  });

  it('leaves the options’ rules to the workflow: keyterms for Russian end in InvalidInput, exit code 1', () => {
    expect(run('refusedOption').code).toBe(1);
    expect(json('refusedOption')).toMatchObject({ status: 'failed', error: { type: 'InvalidInput' } });
  });

  it.each(['unknownOption', 'badSpeakers', 'badSpeakerRange', 'badSpeakerName'] as const)(
    'exits 2 with the usage on a usage error (%s)',
    (name) => {
      const { code, stderr, stdout } = run(name);
      expect(code).toBe(2);
      expect(stderr).toMatch(/Usage: npm start/);
      expect(stdout).toBe('');
    },
  );

  it('uses an emulator given by ASSEMBLYAI_BASE_URL on loopback, retrying its 429', () => {
    expect(external.code).toBe(0);
    expect(external.stderr).toContain(`Using the AssemblyAI emulator at ${emulator.url}`);
    expect(external.stderr).toMatch(/↻ Submit to AssemblyAI: retry #1/);
    expect(external.stdout).toContain('A: Привет, как дела?');
    expect(emulator.stats().transcripts).toHaveLength(1);
  });
});
