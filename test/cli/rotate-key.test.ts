/**
 * `transcription rotate-key` against a mocked Secrets Manager (aws-sdk-client-mock) and the
 * AssemblyAI emulator for the verification calls: what it writes, what it refuses, what it prints,
 * its exit codes, and that no key ever reaches its output.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
} from '@aws-sdk/client-cloudformation';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { EXIT, runCli } from '../../cli/program.js';
import { baseUrlOfTemplate, PICK_UP_WAIT_MS, sameProject } from '../../cli/rotate-key.js';
import { parseApiKeySecret } from '../../lambdas/shared/clients.js';
import { type AssemblyAIEmulator, startEmulator } from '../../local/assemblyai-emulator/emulator.js';

const SECRET_ARN =
  'arn:aws:secretsmanager:eu-central-1:123456789012:secret:wisevoice/assemblyai-api-key-AbCdEf';
const OLD_KEY = 'old0000key0000aaaa';
const NEW_KEY = 'new1111key1111bbbb';
const T0 = Date.parse('2026-12-01T10:00:00Z');

const secretsClient = new SecretsManagerClient({ region: 'eu-central-1' });
const secrets = mockClient(secretsClient);
const cloudFormation = mockClient(CloudFormationClient);
const keyDir = mkdtempSync(join(tmpdir(), 'rotate-key-'));

let emulator: AssemblyAIEmulator;
/** The secret as Secrets Manager holds it: PutSecretValue replaces it, GetSecretValue reads it. */
let stored: { value: string; versionId: string; createdDate: Date };
let clock: number;
let slept: number[];

function holdSecret(value: string, createdDate = new Date(T0)) {
  stored = { value, versionId: 'v1', createdDate };
  secrets.on(GetSecretValueCommand).callsFake(async () => ({
    SecretString: stored.value,
    VersionId: stored.versionId,
    CreatedDate: stored.createdDate,
  }));
  let versions = 1;
  secrets.on(PutSecretValueCommand).callsFake(async (input: { SecretString: string }) => {
    versions += 1;
    stored = { value: input.SecretString, versionId: `v${versions}`, createdDate: new Date(clock) };
    return { VersionId: stored.versionId };
  });
}

function keyFile(content: string): string {
  const path = join(keyDir, `key-${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

async function rotate(argv: string[], options: { env?: Record<string, string>; stdin?: string } = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['rotate-key', ...argv], {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: { AWS_REGION: 'eu-central-1', ...options.env },
    now: () => clock,
    sleep: async (ms) => {
      slept.push(ms);
      clock += ms;
    },
    readStdin: async () => options.stdin ?? '',
    createSecretsManager: () => secretsClient,
  });
  const output = stdout + stderr;
  // Whatever happened, neither key was printed.
  expect(output).not.toContain(OLD_KEY);
  expect(output).not.toContain(NEW_KEY);
  return { code, stdout, stderr };
}

const written = () =>
  secrets.commandCalls(PutSecretValueCommand).map((call) => call.args[0].input.SecretString);
const bySecretId = (...argv: string[]) => ['--secret-id', SECRET_ARN, '--base-url', emulator.url, ...argv];

beforeEach(async () => {
  secrets.reset();
  cloudFormation.reset();
  clock = T0;
  slept = [];
  emulator = await startEmulator({
    apiKeys: [OLD_KEY, NEW_KEY],
    processingDelayMs: 10,
    inspectAudio: async () => ({ ok: true, durationSeconds: 3, sha256: 'x' }),
  });
});

afterEach(async () => {
  await emulator.close();
});

describe('transcription rotate-key, step 1', () => {
  it('verifies the new key at AssemblyAI and writes {current: old, next: new}', async () => {
    // Arrange
    holdSecret(OLD_KEY);

    // Act
    const { code, stdout } = await rotate(bySecretId('--key-file', keyFile(`${NEW_KEY}\n`)));

    // Assert
    expect(code).toBe(EXIT.ok);
    expect(written()).toHaveLength(1);
    expect(JSON.parse(written()[0] as string)).toEqual({ current: OLD_KEY, next: NEW_KEY });
    expect(parseApiKeySecret(stored.value)).toEqual({ current: OLD_KEY, next: NEW_KEY });
    expect(emulator.stats()).toMatchObject({ lists: 2, submissions: 0 });
    expect(stdout).toContain('Step 1 of 2 done');
    expect(stdout).toContain('--finish at or after 2026-12-01 10:05:30Z');
  });

  it('reads the new key from stdin with --key-stdin', async () => {
    // Arrange
    holdSecret(OLD_KEY);

    // Act
    const { code } = await rotate(bySecretId('--key-stdin'), { stdin: `${NEW_KEY}\n` });

    // Assert
    expect(code).toBe(EXIT.ok);
    expect(JSON.parse(written()[0] as string).next).toBe(NEW_KEY);
  });

  it('exits 2 and writes nothing when AssemblyAI refuses the new key', async () => {
    // Arrange
    holdSecret(OLD_KEY);

    // Act
    const { code, stderr } = await rotate(bySecretId('--key-file', keyFile('typo0000key')));

    // Assert
    expect(code).toBe(EXIT.usage);
    expect(stderr).toContain('AssemblyAI refused the new key (HTTP 401)');
    expect(written()).toEqual([]);
  });

  it("exits 2 and writes nothing when the new key belongs to another project (it does not see the current key's transcripts)", async () => {
    // Arrange: two projects behind one URL, each key seeing its own transcripts
    const projects: Record<string, string[]> = { [OLD_KEY]: ['t-3', 't-2', 't-1'], [NEW_KEY]: ['other-9'] };
    const server: Server = createServer((req, res) => {
      const ids = projects[String(req.headers.authorization)];
      res.writeHead(ids ? 200 : 401, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify(
          ids
            ? {
                transcripts: ids.map((id) => ({
                  id,
                  status: 'completed',
                  created: '2026-12-01T09:00:00',
                  audio_url: 'x',
                })),
                page_details: { prev_url: null },
              }
            : { error: 'Authentication error, API token missing/invalid' },
        ),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    holdSecret(OLD_KEY);

    try {
      // Act
      const { code, stderr } = await rotate([
        '--secret-id',
        SECRET_ARN,
        '--base-url',
        `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        '--key-file',
        keyFile(NEW_KEY),
      ]);

      // Assert
      expect(code).toBe(EXIT.usage);
      expect(stderr).toContain('another AssemblyAI project');
      expect(written()).toEqual([]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("still takes two steps when the current key is refused (the stack's placeholder, or revoked)", async () => {
    // Arrange
    holdSecret('generated-placeholder');

    // Act
    const { code, stderr } = await rotate(bySecretId('--key-file', keyFile(NEW_KEY)));

    // Assert
    expect(code).toBe(EXIT.ok);
    expect(stderr).toContain('refuses the current key');
    expect(JSON.parse(written()[0] as string)).toEqual({ current: 'generated-placeholder', next: NEW_KEY });
  });

  it('refuses a second rotation while one is under way, and repeats itself for the same key', async () => {
    // Arrange
    holdSecret(JSON.stringify({ current: OLD_KEY, next: NEW_KEY }));

    // Act
    const other = await rotate(bySecretId('--key-file', keyFile('third2222key')));
    const same = await rotate(bySecretId('--key-file', keyFile(NEW_KEY)));

    // Assert
    expect(other.code).toBe(EXIT.usage);
    expect(other.stderr).toContain('already under way');
    expect(same.code).toBe(EXIT.ok);
    expect(same.stdout).toContain('already done');
    expect(written()).toEqual([]);
  });

  it.each<[string, string, RegExp]>([
    ['the current key', OLD_KEY, /already the current key/],
    ['empty', '\n', /empty/],
    ['two keys', `${NEW_KEY} ${OLD_KEY}`, /whitespace/],
    ['JSON', `{"current":"${NEW_KEY}"}`, /not JSON/],
  ])('exits 2 on a new key that is %s', async (_what, content, message) => {
    // Arrange
    holdSecret(OLD_KEY);

    // Act
    const { code, stderr } = await rotate(bySecretId('--key-file', keyFile(content)));

    // Assert
    expect(code).toBe(EXIT.usage);
    expect(stderr).toMatch(message);
    expect(written()).toEqual([]);
  });

  it('exits 2 without a key source, with two of them, or without a secret', async () => {
    // Arrange
    holdSecret(OLD_KEY);

    // Act
    const none = await rotate(bySecretId());
    const both = await rotate(bySecretId('--key-file', keyFile(NEW_KEY), '--key-stdin'));
    const noSecret = await rotate(['--key-stdin'], { stdin: NEW_KEY });

    // Assert
    expect(none.code).toBe(EXIT.usage);
    expect(none.stderr).toContain('never as an argument');
    expect(both.code).toBe(EXIT.usage);
    expect(noSecret.code).toBe(EXIT.usage);
    expect(noSecret.stderr).toContain('--secret-id');
    expect(written()).toEqual([]);
  });

  it('exits 2 on a malformed secret, quoting none of it', async () => {
    // Arrange
    holdSecret(`{"current": "${OLD_KEY}"`);

    // Act
    const { code, stderr } = await rotate(bySecretId('--key-file', keyFile(NEW_KEY)));

    // Assert
    expect(code).toBe(EXIT.usage);
    expect(stderr).toContain('not valid JSON');
    expect(written()).toEqual([]);
  });

  it('exits 1 when the secret cannot be read, or AssemblyAI cannot be reached', async () => {
    // Arrange
    secrets
      .on(GetSecretValueCommand)
      .rejects(new ResourceNotFoundException({ message: 'no such secret', $metadata: {} }));
    const missing = await rotate(bySecretId('--key-file', keyFile(NEW_KEY)));
    holdSecret(OLD_KEY);
    const closed = await startEmulator({});
    const closedUrl = closed.url;
    await closed.close();

    // Act
    const unreachable = await rotate([
      '--secret-id',
      SECRET_ARN,
      '--base-url',
      closedUrl,
      '--key-file',
      keyFile(NEW_KEY),
    ]);

    // Assert
    expect(missing.code).toBe(EXIT.error);
    expect(missing.stderr).toContain('no such secret');
    expect(unreachable.code).toBe(EXIT.error);
    expect(unreachable.stderr).toContain('ProviderUnavailable');
    expect(unreachable.stderr).toContain('the secret is unchanged');
    expect(written()).toEqual([]);
  });

  it("takes the secret from the stack's ApiKeySecretId output and the endpoint from its Lambdas' ASSEMBLYAI_BASE_URL", async () => {
    // Arrange
    cloudFormation.on(DescribeStacksCommand, { StackName: 'wisevoice-transcription-prod' }).resolves({
      Stacks: [
        {
          StackName: 'wisevoice-transcription-prod',
          CreationTime: new Date(T0),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [{ OutputKey: 'ApiKeySecretId', OutputValue: SECRET_ARN }],
        },
      ],
    });
    cloudFormation.on(GetTemplateCommand).resolves({
      TemplateBody: JSON.stringify({
        Resources: {
          Submit: {
            Type: 'AWS::Lambda::Function',
            Properties: { Environment: { Variables: { ASSEMBLYAI_BASE_URL: emulator.url } } },
          },
          Check: {
            Type: 'AWS::Lambda::Function',
            Properties: { Environment: { Variables: { ASSEMBLYAI_BASE_URL: emulator.url } } },
          },
        },
      }),
    });
    holdSecret(OLD_KEY);

    // Act
    const { code, stdout } = await rotate([
      '--stack',
      'wisevoice-transcription-prod',
      '--key-file',
      keyFile(NEW_KEY),
    ]);

    // Assert
    expect(code).toBe(EXIT.ok);
    expect(secrets.commandCalls(PutSecretValueCommand)[0]?.args[0].input.SecretId).toBe(SECRET_ARN);
    expect(emulator.stats().lists).toBe(2);
    expect(stdout).toContain('rotate-key --stack wisevoice-transcription-prod --finish');
  });
});

describe('transcription rotate-key, step 2 (--finish)', () => {
  const underWay = () => holdSecret(JSON.stringify({ current: OLD_KEY, next: NEW_KEY }), new Date(T0));

  it('exits 4 and writes nothing until every Lambda can hold both keys', async () => {
    // Arrange
    underWay();
    clock = T0 + 60_000;

    // Act
    const { code, stderr } = await rotate(bySecretId('--finish'));

    // Assert
    expect(code).toBe(EXIT.pending);
    expect(stderr).toContain('Too early');
    expect(stderr).toContain('2026-12-01 10:05:30Z');
    expect(written()).toEqual([]);
  });

  it('afterwards writes the new key alone, in the plain form, and says to revoke the old key', async () => {
    // Arrange
    underWay();
    clock = T0 + PICK_UP_WAIT_MS;

    // Act
    const { code, stdout } = await rotate(bySecretId('--finish'));

    // Assert
    expect(code).toBe(EXIT.ok);
    expect(written()).toEqual([NEW_KEY]);
    expect(stdout).toContain('Revoke the old key in the AssemblyAI dashboard now.');
  });

  it('with --wait, waits out the rest of the pick-up time, then finishes', async () => {
    // Arrange
    underWay();
    clock = T0 + 120_000;

    // Act
    const { code } = await rotate(bySecretId('--finish', '--wait'));

    // Assert
    expect(code).toBe(EXIT.ok);
    expect(slept).toEqual([PICK_UP_WAIT_MS - 120_000]);
    expect(written()).toEqual([NEW_KEY]);
  });

  it('exits 2 and writes nothing when AssemblyAI refuses the next key by now', async () => {
    // Arrange
    holdSecret(JSON.stringify({ current: OLD_KEY, next: 'deleted3333key' }), new Date(T0));
    clock = T0 + PICK_UP_WAIT_MS;

    // Act
    const { code, stderr } = await rotate(bySecretId('--finish'));

    // Assert
    expect(code).toBe(EXIT.usage);
    expect(stderr).toContain('refuses the next key');
    expect(written()).toEqual([]);
  });

  it('exits 2 when no rotation is under way', async () => {
    // Arrange
    holdSecret(OLD_KEY);

    // Act
    const { code, stderr } = await rotate(bySecretId('--finish'));

    // Assert
    expect(code).toBe(EXIT.usage);
    expect(stderr).toContain('No rotation under way');
  });
});

describe('transcription rotate-key --cancel and --status', () => {
  it('cancel keeps the current key alone', async () => {
    // Arrange
    holdSecret(JSON.stringify({ current: OLD_KEY, next: NEW_KEY }));

    // Act
    const { code } = await rotate(bySecretId('--cancel'));

    // Assert
    expect(code).toBe(EXIT.ok);
    expect(written()).toEqual([OLD_KEY]);
  });

  it('cancel refuses when the current key no longer works, which would leave no working key', async () => {
    // Arrange
    holdSecret(JSON.stringify({ current: 'revoked4444key', next: NEW_KEY }));

    // Act
    const { code, stderr } = await rotate(bySecretId('--cancel'));

    // Assert
    expect(code).toBe(EXIT.usage);
    expect(stderr).toContain('Finish instead');
    expect(written()).toEqual([]);
  });

  it('status says which step the secret is at, reading it only', async () => {
    // Arrange
    holdSecret(JSON.stringify({ current: OLD_KEY, next: NEW_KEY }));

    // Act
    const during = await rotate(['--secret-id', SECRET_ARN, '--status']);
    holdSecret(NEW_KEY);
    const after = await rotate(['--secret-id', SECRET_ARN, '--status']);

    // Assert
    expect(during.code).toBe(EXIT.ok);
    expect(during.stdout).toContain('Rotation under way since 2026-12-01 10:00:00Z');
    expect(after.stdout).toContain('no rotation under way');
    expect(emulator.stats().lists).toBe(0);
    expect(written()).toEqual([]);
  });

  it('refuses --finish together with --cancel, and --wait without --finish', async () => {
    holdSecret(OLD_KEY);

    expect((await rotate(bySecretId('--finish', '--cancel'))).code).toBe(EXIT.usage);
    expect((await rotate(bySecretId('--cancel', '--wait'))).code).toBe(EXIT.usage);
    expect(written()).toEqual([]);
  });
});

describe('rotate-key helpers', () => {
  it('tells two keys of one project by the transcripts they see', () => {
    expect(sameProject([], [])).toBe(true);
    expect(sameProject(['b'], ['c', 'b', 'a'])).toBe(true);
    expect(sameProject(['x'], ['c', 'b', 'a'])).toBe(false);
    expect(sameProject([], ['a'])).toBe(false);
  });

  it("reads the one ASSEMBLYAI_BASE_URL of a template's Lambdas", () => {
    const lambda = (url: string) => ({
      Type: 'AWS::Lambda::Function',
      Properties: { Environment: { Variables: { ASSEMBLYAI_BASE_URL: url } } },
    });

    expect(
      baseUrlOfTemplate(JSON.stringify({ Resources: { a: lambda('https://api.eu.assemblyai.com') } })),
    ).toBe('https://api.eu.assemblyai.com');
    expect(
      baseUrlOfTemplate(JSON.stringify({ Resources: { a: lambda('https://x'), b: lambda('https://y') } })),
    ).toBeUndefined();
    expect(baseUrlOfTemplate('Resources: {}')).toBeUndefined();
  });
});
