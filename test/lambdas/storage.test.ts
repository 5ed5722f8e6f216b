/**
 * The conditional S3 helpers: against the embedded S3 (which enforces preconditions as S3 does),
 * and with aws-sdk-client-mock for the answers a local server never gives (409, 5xx).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import {
  getJsonWithEtag,
  headObject,
  isPreconditionFailed,
  putBytes,
  putJson,
  putJsonIfAbsent,
  putJsonIfMatch,
} from '../../lambdas/shared/storage.js';
import { type EmbeddedS3, startEmbeddedS3 } from '../../local/embedded-s3.js';

const BUCKET = 'storage-helpers-test';
const RACERS = 10;

const etagOf = (value: unknown) => `"${createHash('md5').update(JSON.stringify(value)).digest('hex')}"`;

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

function awsError(name: string, status: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
}

describe('conditional storage helpers against the embedded S3', () => {
  let directory: string;
  let s3: EmbeddedS3;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'storage-helpers-'));
    s3 = await startEmbeddedS3({ directory, bucket: BUCKET });
  });

  afterAll(async () => {
    await s3.close();
    await rm(directory, { recursive: true, force: true });
  });

  describe('putJsonIfAbsent', () => {
    it('writes when there is no object, returning its ETag and size', async () => {
      const result = await putJsonIfAbsent(s3.client, BUCKET, 'absent/new.json', { status: 'completed' });

      expect(result).toEqual({ written: true, etag: etagOf({ status: 'completed' }), bytes: 22 });
      expect(await getJsonWithEtag(s3.client, BUCKET, 'absent/new.json')).toEqual({
        value: { status: 'completed' },
        etag: etagOf({ status: 'completed' }),
        lastModified: expect.any(Date),
      });
    });

    it('does not write over an existing object', async () => {
      await putJson(s3.client, BUCKET, 'absent/taken.json', { status: 'completed' });

      const result = await putJsonIfAbsent(s3.client, BUCKET, 'absent/taken.json', { status: 'failed' });

      expect(result).toEqual({ written: false, reason: 'exists' });
      expect((await getJsonWithEtag(s3.client, BUCKET, 'absent/taken.json'))?.value).toEqual({
        status: 'completed',
      });
    });

    it('keeps the content type it is given', async () => {
      await putJsonIfAbsent(s3.client, BUCKET, 'absent/typed.json', {}, 'application/vnd.test+json');

      expect((await headObject(s3.client, BUCKET, 'absent/typed.json'))?.contentType).toBe(
        'application/vnd.test+json',
      );
    });

    it(`lets exactly one of ${RACERS} concurrent writers write, and keeps its body`, async () => {
      const results = await Promise.all(
        Array.from({ length: RACERS }, (_, writer) =>
          putJsonIfAbsent(s3.client, BUCKET, 'absent/raced.json', { writer }),
        ),
      );

      const winners = results.filter((r) => r.written);
      expect(winners).toHaveLength(1);
      const stored = await getJsonWithEtag<{ writer: number }>(s3.client, BUCKET, 'absent/raced.json');
      expect(winners[0]).toMatchObject({ etag: stored?.etag });
      expect(results.filter((r) => !r.written)).toEqual(
        Array(RACERS - 1).fill({ written: false, reason: 'exists' }),
      );
    });
  });

  describe('putJsonIfAbsent against s3rver alone', () => {
    let raw: EmbeddedS3;
    let rawDirectory: string;

    beforeAll(async () => {
      rawDirectory = await mkdtemp(join(tmpdir(), 'storage-helpers-raw-'));
      raw = await startEmbeddedS3({ directory: rawDirectory, bucket: BUCKET, conditionalRequests: false });
    });

    afterAll(async () => {
      await raw.close();
      await rm(rawDirectory, { recursive: true, force: true });
    });

    it(`reports more than one of ${RACERS} racing writers as "written": the proxy gives the guarantee`, async () => {
      const results = await Promise.all(
        Array.from({ length: RACERS }, (_, writer) =>
          putJsonIfAbsent(raw.client, BUCKET, 'raced.json', { writer }),
        ),
      );

      expect(results.filter((r) => r.written).length).toBeGreaterThan(1);
    });
  });

  describe('putJsonIfMatch', () => {
    it('replaces the object it read', async () => {
      await putJson(s3.client, BUCKET, 'match/doc.json', { version: 1 });
      const read = await getJsonWithEtag<{ version: number }>(s3.client, BUCKET, 'match/doc.json');

      const result = await putJsonIfMatch(
        s3.client,
        BUCKET,
        'match/doc.json',
        { version: 2 },
        read?.etag ?? '',
      );

      expect(result).toMatchObject({ written: true, etag: etagOf({ version: 2 }) });
      expect((await getJsonWithEtag(s3.client, BUCKET, 'match/doc.json'))?.value).toEqual({ version: 2 });
    });

    it('does not replace an object that changed since it was read', async () => {
      await putJson(s3.client, BUCKET, 'match/stale.json', { version: 1 });
      const read = await getJsonWithEtag(s3.client, BUCKET, 'match/stale.json');
      await putJson(s3.client, BUCKET, 'match/stale.json', { version: 'someone else' });

      const result = await putJsonIfMatch(
        s3.client,
        BUCKET,
        'match/stale.json',
        { version: 2 },
        read?.etag ?? '',
      );

      expect(result).toEqual({ written: false, reason: 'changed' });
      expect((await getJsonWithEtag(s3.client, BUCKET, 'match/stale.json'))?.value).toEqual({
        version: 'someone else',
      });
    });

    it('does not create an object that no longer exists', async () => {
      const result = await putJsonIfMatch(s3.client, BUCKET, 'match/absent.json', {}, etagOf({}));

      expect(result).toEqual({ written: false, reason: 'missing' });
      expect(await getJsonWithEtag(s3.client, BUCKET, 'match/absent.json')).toBeUndefined();
    });
  });

  describe('getJsonWithEtag and headObject', () => {
    it('return undefined for a missing object', async () => {
      expect(await getJsonWithEtag(s3.client, BUCKET, 'read/none.json')).toBeUndefined();
      expect(await headObject(s3.client, BUCKET, 'read/none.json')).toBeUndefined();
    });

    it('headObject reports size and ETag, and no versionId (s3rver has no versioning)', async () => {
      await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'read/audio.ogg', Body: 'OggS....' }));

      const head = await headObject(s3.client, BUCKET, 'read/audio.ogg');

      expect(head).toMatchObject({
        size: 8,
        etag: `"${createHash('md5').update('OggS....').digest('hex')}"`,
      });
      expect(head?.versionId).toBeUndefined();
    });

    it('headObject with ifMatch is refused once the object was replaced', async () => {
      await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'read/pinned.ogg', Body: 'first' }));
      const pinned = await headObject(s3.client, BUCKET, 'read/pinned.ogg');
      await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'read/pinned.ogg', Body: 'second' }));

      const error = await rejectionOf(
        headObject(s3.client, BUCKET, 'read/pinned.ogg', { ifMatch: pinned?.etag }),
      );

      expect(isPreconditionFailed(error)).toBe(true);
    });

    it('headObject with the current ETag as ifMatch answers normally', async () => {
      await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'read/same.ogg', Body: 'same' }));
      const first = await headObject(s3.client, BUCKET, 'read/same.ogg');

      expect(await headObject(s3.client, BUCKET, 'read/same.ogg', { ifMatch: first?.etag })).toEqual(first);
    });
  });
});

describe('putBytes', () => {
  const client = new S3Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  const s3Mock = mockClient(client);

  beforeEach(() => {
    s3Mock.reset();
  });

  afterAll(() => {
    s3Mock.restore();
  });

  it('uploads the very bytes it is given, as JSON unless told otherwise, and returns their length', async () => {
    s3Mock.on(PutObjectCommand).resolves({ ETag: '"e"' });
    const body = Buffer.from('{"id":"a",   "words":[]}');

    const written = await putBytes(client, BUCKET, 'work/x/transcript.json', body);

    expect(written).toBe(body.length);
    const input = s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ Bucket: BUCKET, Key: 'work/x/transcript.json' });
    expect(input?.Body).toBe(body);
    expect(input?.ContentType).toBe('application/json; charset=utf-8');
  });

  it('reports S3 throttling as StorageUnavailable', async () => {
    s3Mock.on(PutObjectCommand).rejects(awsError('SlowDown', 503));

    const error = await rejectionOf(putBytes(client, BUCKET, 'k.json', Buffer.from('{}')));

    expect(error.name).toBe('StorageUnavailable');
  });
});

describe('conditional storage helpers on answers only real S3 gives', () => {
  const client = new S3Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  const s3Mock = mockClient(client);

  beforeEach(() => {
    s3Mock.reset();
  });

  afterAll(() => {
    s3Mock.restore();
  });

  it('putJsonIfAbsent retries once after 409 ConditionalRequestConflict and reports the retry’s answer', async () => {
    s3Mock
      .on(PutObjectCommand)
      .rejectsOnce(awsError('ConditionalRequestConflict', 409))
      .resolves({ ETag: '"abc"' });

    const result = await putJsonIfAbsent(client, BUCKET, 'k.json', {});

    expect(result).toEqual({ written: true, etag: '"abc"', bytes: 2 });
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(2);
    expect(s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({ IfNoneMatch: '*' });
  });

  it('putJsonIfAbsent: a 409 then 412 means another writer won', async () => {
    s3Mock
      .on(PutObjectCommand)
      .rejectsOnce(awsError('ConditionalRequestConflict', 409))
      .rejects(awsError('PreconditionFailed', 412));

    expect(await putJsonIfAbsent(client, BUCKET, 'k.json', {})).toEqual({ written: false, reason: 'exists' });
  });

  it('putJsonIfAbsent: a second 409 becomes StorageUnavailable, for the state machine to retry', async () => {
    s3Mock.on(PutObjectCommand).rejects(awsError('ConditionalRequestConflict', 409));

    const error = await rejectionOf(putJsonIfAbsent(client, BUCKET, 'k.json', {}));

    expect(error.name).toBe('StorageUnavailable');
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(2);
  });

  it('putJsonIfMatch sends the ETag and retries a 409 with it', async () => {
    s3Mock
      .on(PutObjectCommand)
      .rejectsOnce(awsError('ConditionalRequestConflict', 409))
      .rejects(awsError('PreconditionFailed', 412));

    const result = await putJsonIfMatch(client, BUCKET, 'k.json', {}, '"old"');

    expect(result).toEqual({ written: false, reason: 'changed' });
    expect(s3Mock.commandCalls(PutObjectCommand).map((call) => call.args[0].input.IfMatch)).toEqual([
      '"old"',
      '"old"',
    ]);
  });

  it.each([
    ['SlowDown', 503],
    ['InternalError', 500],
  ])('a %s (%i) on a conditional write is StorageUnavailable', async (name, status) => {
    s3Mock.on(PutObjectCommand).rejects(awsError(name, status));

    const absent = await rejectionOf(putJsonIfAbsent(client, BUCKET, 'k.json', {}));
    const match = await rejectionOf(putJsonIfMatch(client, BUCKET, 'k.json', {}, '"e"'));

    expect([absent.name, match.name]).toEqual(['StorageUnavailable', 'StorageUnavailable']);
  });

  it('a 5xx on getJsonWithEtag or headObject is StorageUnavailable', async () => {
    s3Mock.on(GetObjectCommand).rejects(awsError('InternalError', 500));
    s3Mock.on(HeadObjectCommand).rejects(awsError('Unknown', 503));

    const read = await rejectionOf(getJsonWithEtag(client, BUCKET, 'k.json'));
    const head = await rejectionOf(headObject(client, BUCKET, 'k.json'));

    expect([read.name, head.name]).toEqual(['StorageUnavailable', 'StorageUnavailable']);
  });

  it('an access error propagates unchanged', async () => {
    s3Mock.on(PutObjectCommand).rejects(awsError('AccessDenied', 403));

    const error = await rejectionOf(putJsonIfAbsent(client, BUCKET, 'k.json', {}));

    expect(error.name).toBe('AccessDenied');
  });

  it('headObject returns the versionId when the bucket is versioned', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 5, ETag: '"e"', VersionId: 'v1' });

    expect(await headObject(client, BUCKET, 'k.ogg')).toEqual({ size: 5, etag: '"e"', versionId: 'v1' });
  });
});
