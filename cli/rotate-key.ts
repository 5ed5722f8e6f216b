/**
 * `transcription rotate-key`: replaces the AssemblyAI key in the deployment's secret in two steps,
 * so that no Lambda is ever left holding only a key that stopped working. AssemblyAI keys are
 * created and deleted in its dashboard only (no API a rotation Lambda could call), so the operator
 * makes the key and revokes the old one; this module checks each step against AssemblyAI and
 * Secrets Manager. The flow and why it waits: docs/operate.md, "Rotating the AssemblyAI key".
 *
 * 1. `rotate-key --key-file|--key-stdin` verifies the new key and writes `{current: old, next: new}`:
 *    both keys work, and a Lambda whose current key is refused retries with the next one.
 * 2. `rotate-key --finish`, once every Lambda's cached secret is younger than step 1, writes the new
 *    key alone (the plain form): the old one can then be revoked at once.
 */
import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
} from '@aws-sdk/client-cloudformation';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { type ApiKeys, createAssemblyAIProvider, isKeyRefused } from '../lambdas/shared/assemblyai.js';
import { parseApiKeySecret, SECRET_MAX_AGE_SECONDS } from '../lambdas/shared/clients.js';
import { ConfigurationError } from '../lambdas/shared/errors.js';
import { formatDuration, formatInstant } from './format.js';

/**
 * How long after step 1 every Lambda has read the secret again: the Lambdas' cache age
 * (`SECRET_MAX_AGE_SECONDS`), plus a margin for a read that was in flight during the write and
 * for skew between this machine's clock and Secrets Manager's.
 */
export const PICK_UP_WAIT_MS = SECRET_MAX_AGE_SECONDS * 1000 + 30_000;

/** AssemblyAI's US endpoint, what a deployment uses unless `assemblyaiRegion=eu`. */
export const DEFAULT_BASE_URL = 'https://api.assemblyai.com';

/** Transcripts of the current key's list among which the new key's newest must appear (same project). */
const PROJECT_CHECK_DEPTH = 20;

/** Why rotate-key stopped without doing what was asked: `refused` exits 2, `notYet` exits 4. */
export class RotationStopped extends Error {
  constructor(
    readonly kind: 'refused' | 'notYet',
    message: string,
  ) {
    super(message);
  }
}

export interface KeySecret {
  keys: ApiKeys;
  versionId?: string;
  /** When this version was written. */
  createdDate?: Date;
}

export interface RotationContext {
  secrets: SecretsManagerClient;
  secretId: string;
  /** The deployment's AssemblyAI base URL (the Lambdas' ASSEMBLYAI_BASE_URL). */
  baseUrl: string;
  /** The command to show for the next step, e.g. `transcription --stack x rotate-key`. */
  commandLine: string;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Results (stdout). */
  report: (line: string) => void;
  /** Progress (stderr). */
  progress: (line: string) => void;
  /** Timeout of each AssemblyAI request. @default 10_000 */
  timeoutMs?: number;
}

/** Reads and parses the secret (both forms, see `parseApiKeySecret`); a malformed one is refused. */
export async function readKeySecret(secrets: SecretsManagerClient, secretId: string): Promise<KeySecret> {
  const answer = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
  if (typeof answer.SecretString !== 'string') {
    throw new RotationStopped('refused', `The secret ${secretId} holds no string (a binary secret?)`);
  }
  try {
    return {
      keys: parseApiKeySecret(answer.SecretString),
      versionId: answer.VersionId,
      createdDate: answer.CreatedDate,
    };
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    throw new RotationStopped(
      'refused',
      `${error.message}. Fix it with aws secretsmanager put-secret-value before rotating.`,
    );
  }
}

/**
 * Writes the keys: the JSON form while there is a next key, else the plain key string, the form
 * every version of the Lambdas and the deploy guide's put-secret-value use.
 */
export async function writeKeySecret(
  secrets: SecretsManagerClient,
  secretId: string,
  keys: ApiKeys,
): Promise<string | undefined> {
  const value = keys.next ? JSON.stringify({ current: keys.current, next: keys.next }) : keys.current;
  const written = await secrets.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: value }));
  return written.VersionId;
}

export type KeyCheck = { accepted: true; transcriptIds: string[] } | { accepted: false };

/**
 * One harmless, unbilled request with `key`: `GET /v2/transcript?limit=N`, the newest transcripts
 * of the key's project. A 401 is `accepted: false`; any other failure is thrown as classified.
 */
export async function checkKey(
  baseUrl: string,
  key: string,
  limit: number,
  timeoutMs = 10_000,
): Promise<KeyCheck> {
  const provider = createAssemblyAIProvider({
    apiKey: async () => key,
    baseUrl,
    speechModels: [],
    languageDetection: { expectedLanguages: [], fallbackLanguage: 'auto', confidenceThreshold: 0 },
    timeoutMs,
  });
  try {
    const page = await provider.listTranscripts({ limit });
    return { accepted: true, transcriptIds: page.transcripts.map((transcript) => transcript.id) };
  } catch (error) {
    if (isKeyRefused(error)) return { accepted: false };
    throw error;
  }
}

/**
 * Whether two keys belong to one AssemblyAI project, where transcripts live (a key of another
 * project could not read, poll or delete the jobs in flight): the newest transcript the new key
 * sees is among the newest the current key sees, read just after it.
 */
export function sameProject(newKeyNewest: string[], currentKeyNewest: string[]): boolean {
  const newest = newKeyNewest[0];
  return newest === undefined ? currentKeyNewest.length === 0 : currentKeyNewest.includes(newest);
}

/** A new key as read from a file or stdin: one token, no surrounding whitespace. */
export function checkedNewKey(text: string): string {
  const key = text.trim();
  if (key === '') throw new RotationStopped('refused', 'The new key is empty');
  if (/[\s\p{Cc}]/u.test(key)) {
    throw new RotationStopped(
      'refused',
      'The new key contains whitespace or control characters: one key only',
    );
  }
  if (key.startsWith('{') || key.startsWith('"')) {
    throw new RotationStopped('refused', 'Give the new key itself, not JSON: rotate-key writes the secret');
  }
  return key;
}

/** Step 1: verify the new key, then write `{current, next: new}`. */
export async function startRotation(context: RotationContext, newKey: string): Promise<void> {
  const { secrets, secretId, baseUrl, report, progress } = context;
  progress(`Reading the secret ${secretId}`);
  const secret = await readKeySecret(secrets, secretId);
  const { current, next } = secret.keys;
  if (newKey === current) {
    throw new RotationStopped('refused', 'The new key is already the current key: nothing to rotate');
  }
  if (next === newKey) {
    report(`Step 1 is already done: the secret holds this key as the next one (since ${since(secret)}).`);
    report(finishHint(context, secret.createdDate));
    return;
  }
  if (next) {
    throw new RotationStopped(
      'refused',
      `A rotation is already under way with another next key (since ${since(secret)}): finish it (${context.commandLine} --finish) or cancel it (${context.commandLine} --cancel) first`,
    );
  }

  progress(`Verifying the new key at ${baseUrl} (GET /v2/transcript?limit=1)`);
  const fresh = await checkKey(baseUrl, newKey, 1, context.timeoutMs);
  if (!fresh.accepted) {
    throw new RotationStopped(
      'refused',
      `AssemblyAI refused the new key (HTTP 401) at ${baseUrl}; the secret is unchanged. Check that it was copied whole and that it belongs to this deployment's region (EU keys: --base-url https://api.eu.assemblyai.com).`,
    );
  }
  progress('Checking that the current key belongs to the same project');
  const old = await checkKey(baseUrl, current, PROJECT_CHECK_DEPTH, context.timeoutMs);
  if (old.accepted && !sameProject(fresh.transcriptIds, old.transcriptIds)) {
    throw new RotationStopped(
      'refused',
      "The new key does not see the current key's transcripts: it belongs to another AssemblyAI project (keys and transcripts are per project), which could not poll or delete the jobs in flight. Create the new key in the current key's project; the secret is unchanged.",
    );
  }
  if (!old.accepted) {
    // The stack's placeholder, or a key revoked already. Still two steps: should the refusal come
    // from a wrong --base-url, the Lambdas keep the current key that works at theirs.
    progress(
      'AssemblyAI refuses the current key (the placeholder, or revoked already): the Lambdas will fall back to the new one',
    );
  }

  const version = await writeKeySecret(secrets, secretId, { current, next: newKey });
  report(
    `Step 1 of 2 done: the secret holds the current key and the new one as next (version ${version ?? '?'}).`,
  );
  report('Both keys work now. Each Lambda reads the secret again within 5 minutes; from then on a 401 with');
  report('the current key is retried once with the new one.');
  report(finishHint(context, new Date(context.now())));
}

/** Step 2: once every Lambda holds both keys, write the new key alone. */
export async function finishRotation(context: RotationContext, options: { wait: boolean }): Promise<void> {
  const { secrets, secretId, baseUrl, report, progress, now } = context;
  progress(`Reading the secret ${secretId}`);
  let secret = await readKeySecret(secrets, secretId);
  if (!secret.keys.next) {
    throw new RotationStopped(
      'refused',
      `No rotation under way: the secret holds one key. Start one with ${context.commandLine} --key-file <path> (or --key-stdin).`,
    );
  }
  // Without a date (never seen), count from now: waiting too long is safe, too short is not.
  const readyAt = (secret.createdDate?.getTime() ?? now()) + PICK_UP_WAIT_MS;
  if (now() < readyAt) {
    const left = readyAt - now();
    if (!options.wait) {
      throw new RotationStopped(
        'notYet',
        `Too early: Lambdas may hold the secret as it was before step 1 until ${formatInstant(new Date(readyAt))} (${formatDuration(left)} from now). Run ${context.commandLine} --finish again then, or add --wait.`,
      );
    }
    progress(
      `Waiting ${formatDuration(left)}, until every Lambda holds both keys (${formatInstant(new Date(readyAt))})`,
    );
    await context.sleep(left);
    const again = await readKeySecret(secrets, secretId);
    if (again.versionId !== secret.versionId) {
      throw new RotationStopped(
        'refused',
        'The secret changed while waiting: check it and run --finish again',
      );
    }
    secret = again;
  }

  const { next } = secret.keys as Required<ApiKeys>;
  progress(`Verifying the next key at ${baseUrl} (GET /v2/transcript?limit=1)`);
  const check = await checkKey(baseUrl, next, 1, context.timeoutMs);
  if (!check.accepted) {
    throw new RotationStopped(
      'refused',
      `AssemblyAI refuses the next key (deleted in the dashboard?); the secret is unchanged. Cancel with ${context.commandLine} --cancel and start again with a new key.`,
    );
  }
  const version = await writeKeySecret(secrets, secretId, { current: next });
  report(`Step 2 of 2 done: the secret holds the new key only (version ${version ?? '?'}).`);
  report('Lambdas that still hold both keys fall back to the new one as soon as the old one is refused.');
  report('Revoke the old key in the AssemblyAI dashboard now.');
}

/** Drops the next key, keeping the current one, unless the current one no longer works. */
export async function cancelRotation(context: RotationContext): Promise<void> {
  const { secrets, secretId, baseUrl, report, progress } = context;
  progress(`Reading the secret ${secretId}`);
  const secret = await readKeySecret(secrets, secretId);
  if (!secret.keys.next) throw new RotationStopped('refused', 'No rotation under way: nothing to cancel');
  progress(`Verifying the current key at ${baseUrl} (GET /v2/transcript?limit=1)`);
  const check = await checkKey(baseUrl, secret.keys.current, 1, context.timeoutMs);
  if (!check.accepted) {
    throw new RotationStopped(
      'refused',
      `AssemblyAI refuses the current key: cancelling would leave the Lambdas without a working key. Finish instead (${context.commandLine} --finish).`,
    );
  }
  const version = await writeKeySecret(secrets, secretId, { current: secret.keys.current });
  report(`Cancelled: the secret holds the current key only (version ${version ?? '?'}).`);
  report(
    'Lambdas may fall back to the dropped key for 5 more minutes: delete it at AssemblyAI after that, if unused.',
  );
}

/** Which step the secret is at (reads the secret only; shows no key). */
export async function rotationStatus(context: RotationContext): Promise<void> {
  const { secrets, secretId, report } = context;
  const secret = await readKeySecret(secrets, secretId);
  if (!secret.keys.next) {
    report(`One key (version ${secret.versionId ?? '?'}, written ${since(secret)}): no rotation under way.`);
    return;
  }
  report(
    `Rotation under way since ${since(secret)} (version ${secret.versionId ?? '?'}): current and next keys.`,
  );
  report(finishHint(context, secret.createdDate));
}

function since(secret: KeySecret): string {
  return formatInstant(secret.createdDate);
}

function finishHint(context: RotationContext, written: Date | undefined): string {
  const readyAt = (written?.getTime() ?? context.now()) + PICK_UP_WAIT_MS;
  const when =
    readyAt <= context.now()
      ? 'now'
      : `at or after ${formatInstant(new Date(readyAt))} (or now, adding --wait)`;
  return `Next: ${context.commandLine} --finish ${when}`;
}

/** The secret and AssemblyAI endpoint of a deployed stack: its ApiKeySecretId output and its Lambdas' ASSEMBLYAI_BASE_URL. */
export async function stackRotationSettings(
  stackName: string,
  region: string | undefined,
  options: { needsBaseUrl: boolean },
): Promise<{ secretId?: string; baseUrl?: string }> {
  const cloudFormation = new CloudFormationClient(region ? { region } : {});
  try {
    const described = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    const outputs = described.Stacks?.[0]?.Outputs ?? [];
    const secretId = outputs.find((o) => o.OutputKey === 'ApiKeySecretId')?.OutputValue;
    if (!options.needsBaseUrl) return { secretId };
    // The endpoint is a literal in the template (cdk/config.ts ASSEMBLYAI_BASE_URLS), not an output.
    const template = await cloudFormation.send(new GetTemplateCommand({ StackName: stackName }));
    return { secretId, baseUrl: baseUrlOfTemplate(template.TemplateBody) };
  } finally {
    cloudFormation.destroy();
  }
}

/** The one ASSEMBLYAI_BASE_URL the template's Lambdas share; undefined when none or several differ. */
export function baseUrlOfTemplate(body: string | undefined): string | undefined {
  let template: { Resources?: Record<string, { Type?: string; Properties?: unknown }> };
  try {
    template = JSON.parse(body ?? '');
  } catch {
    return undefined;
  }
  const urls = new Set<string>();
  for (const resource of Object.values(template?.Resources ?? {})) {
    if (resource?.Type !== 'AWS::Lambda::Function') continue;
    const url = (resource.Properties as { Environment?: { Variables?: Record<string, unknown> } })
      ?.Environment?.Variables?.ASSEMBLYAI_BASE_URL;
    if (typeof url === 'string') urls.add(url);
  }
  return urls.size === 1 ? [...urls][0] : undefined;
}
