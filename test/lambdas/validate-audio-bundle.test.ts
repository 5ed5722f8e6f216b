/**
 * "Validate audio" as deployed: the bundle leaves music-metadata's MPEG and Ogg parsers out
 * (issue 10, NEVER_LOADED_MODULES), which is safe only while Validate never hands those formats to
 * music-metadata. The bundled judgement of every audio fixture must be the sources' judgement.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../../cdk/paths.js';
import { probeAudioBytes } from '../../lambdas/validate-audio/validate-audio.js';
import { bundle, IMPORT_NODE } from '../../scripts/bundle-report.js';
import { AUDIO_DIR } from './step-fixtures.js';

/** Every audio fixture: the corpus and the files beside it. */
const FILES = [AUDIO_DIR, join(AUDIO_DIR, 'corpus')].flatMap((dir) =>
  readdirSync(dir)
    .map((name) => join(dir, name))
    .filter((file) => statSync(file).isFile() && !/\.(md|json)$/.test(file)),
);

/** What `probe` makes of each file: the audio it found, or the refusal's name and message. */
const JUDGE = (probe: string) => `
const files = JSON.parse(process.env.FILES);
const { readFileSync } = await import('node:fs');
const { probeAudioBytes } = await import(${JSON.stringify(probe)});
const verdicts = {};
for (const file of files) {
  try {
    verdicts[file] = await probeAudioBytes(new Uint8Array(readFileSync(file)));
  } catch (error) {
    verdicts[file] = { refused: error.name, message: error.message };
  }
}
process.stdout.write(JSON.stringify(verdicts));
`;

describe('the bundled Validate', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'validate-bundle-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('judges every audio fixture as the sources do', async () => {
    // Arrange: Validate's probe bundled with the construct's options
    const entry = join(dir, 'probe.ts');
    writeFileSync(
      entry,
      `export { probeAudioBytes } from '${PROJECT_ROOT}lambdas/validate-audio/validate-audio.ts';\n`,
    );
    const file = join(dir, 'out', 'index.mjs');
    await bundle(entry, file, false);
    const expected: Record<string, unknown> = {};
    for (const audio of FILES) {
      try {
        expected[audio] = await probeAudioBytes(new Uint8Array(readFileSync(audio)));
      } catch (error) {
        expected[audio] = { refused: (error as Error).name, message: (error as Error).message };
      }
    }

    // Act
    const run = spawnSync(IMPORT_NODE, ['--input-type=module', '-e', JUDGE(pathToFileURL(file).href)], {
      env: { PATH: process.env.PATH ?? '', FILES: JSON.stringify(FILES) },
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });

    // Assert
    expect(run.stderr).toBe('');
    expect(FILES.length).toBeGreaterThan(50);
    expect(JSON.parse(run.stdout)).toEqual(expected);
  }, 60_000);
});
