/**
 * The embedded S3 answers conditional requests as S3 documents them, through the enforcing proxy;
 * and the same requests against s3rver alone show that the guarantee comes from the proxy.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { EMBEDDED_S3_CREDENTIALS, type EmbeddedS3, startEmbeddedS3 } from '../../local/embedded-s3.js';
import { type S3FaultProxy, startS3FaultProxy } from '../../local/s3-fault-proxy.js';

const BUCKET = 'conditional-proxy-test';
const RACERS = 12;

interface Outcome {
  status: number | undefined;
  name: string;
  etag?: string;
}

async function outcome(s3: S3Client, command: object): Promise<Outcome> {
  try {
    const response = (await s3.send(command as never)) as {
      $metadata: { httpStatusCode?: number };
      ETag?: string;
    };
    return { status: response.$metadata.httpStatusCode, name: 'ok', etag: response.ETag };
  } catch (error) {
    const e = error as { name: string; $metadata?: { httpStatusCode?: number } };
    return { status: e.$metadata?.httpStatusCode, name: e.name };
  }
}

const md5Etag = (text: string) => `"${createHash('md5').update(text).digest('hex')}"`;

async function body(s3: S3Client, key: string): Promise<string | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return await response.Body?.transformToString('utf-8');
  } catch {
    return undefined;
  }
}

/** RACERS concurrent `If-None-Match: *` writes of one key, each with its own body. */
async function race(s3: S3Client, key: string): Promise<Outcome[]> {
  return Promise.all(
    Array.from({ length: RACERS }, (_, i) =>
      outcome(s3, new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `writer ${i}`, IfNoneMatch: '*' })),
    ),
  );
}

describe('embedded S3 with conditional requests', () => {
  let directory: string;
  let s3: EmbeddedS3;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 's3-conditional-'));
    s3 = await startEmbeddedS3({ directory, bucket: BUCKET });
  });

  afterAll(async () => {
    await s3.close();
    await rm(directory, { recursive: true, force: true });
  });

  const put = (key: string, text: string, extra: { IfNoneMatch?: string; IfMatch?: string } = {}) =>
    outcome(s3.client, new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: text, ...extra }));

  describe('PutObject If-None-Match: *', () => {
    it('creates an object that does not exist yet, with s3rver’s quoted-MD5 ETag', async () => {
      const result = await put('create/new.json', '{"a":1}', { IfNoneMatch: '*' });

      expect(result).toEqual({ status: 200, name: 'ok', etag: md5Etag('{"a":1}') });
      expect(await body(s3.client, 'create/new.json')).toBe('{"a":1}');
    });

    it('refuses with 412 PreconditionFailed when the key exists, and keeps the first object', async () => {
      await put('create/taken.json', 'first');

      const result = await put('create/taken.json', 'second', { IfNoneMatch: '*' });

      expect(result).toMatchObject({ status: 412, name: 'PreconditionFailed' });
      expect(await body(s3.client, 'create/taken.json')).toBe('first');
    });

    it('refuses any If-None-Match value but * on a write (501 NotImplemented)', async () => {
      await put('create/etag-value.json', 'first');

      const result = await put('create/etag-value.json', 'second', { IfNoneMatch: md5Etag('other') });

      expect(result).toMatchObject({ status: 501, name: 'NotImplemented' });
      expect(await body(s3.client, 'create/etag-value.json')).toBe('first');
    });

    it(`lets exactly one of ${RACERS} concurrent writers create the key`, async () => {
      const results = await race(s3.client, 'create/raced.json');

      const winners = results.filter((r) => r.status === 200);
      expect(winners).toHaveLength(1);
      expect(results.filter((r) => r.status === 412)).toHaveLength(RACERS - 1);
      const stored = await body(s3.client, 'create/raced.json');
      expect(winners[0]?.etag).toBe(md5Etag(stored ?? ''));
    });
  });

  describe('PutObject If-Match', () => {
    it('replaces the object when the ETag is the current one', async () => {
      const first = await put('update/doc.json', 'v1');

      const result = await put('update/doc.json', 'v2', { IfMatch: first.etag });

      expect(result).toEqual({ status: 200, name: 'ok', etag: md5Etag('v2') });
      expect(await body(s3.client, 'update/doc.json')).toBe('v2');
    });

    it('accepts the ETag without its quotes', async () => {
      await put('update/unquoted.json', 'v1');

      const result = await put('update/unquoted.json', 'v2', { IfMatch: md5Etag('v1').replaceAll('"', '') });

      expect(result.status).toBe(200);
    });

    it('refuses with 412 when the object changed since that ETag', async () => {
      const first = await put('update/stale.json', 'v1');
      await put('update/stale.json', 'someone else');

      const result = await put('update/stale.json', 'v2', { IfMatch: first.etag });

      expect(result).toMatchObject({ status: 412, name: 'PreconditionFailed' });
      expect(await body(s3.client, 'update/stale.json')).toBe('someone else');
    });

    it('refuses with 404 NoSuchKey when there is no object', async () => {
      const result = await put('update/absent.json', 'v1', { IfMatch: md5Etag('anything') });

      expect(result).toMatchObject({ status: 404, name: 'NoSuchKey' });
      expect(await body(s3.client, 'update/absent.json')).toBeUndefined();
    });

    it(`lets exactly one of ${RACERS} concurrent compare-and-swaps from one ETag win`, async () => {
      const first = await put('update/raced.json', 'v1');

      const results = await Promise.all(
        Array.from({ length: RACERS }, (_, i) =>
          put('update/raced.json', `writer ${i}`, { IfMatch: first.etag }),
        ),
      );

      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      expect(results.filter((r) => r.status === 412)).toHaveLength(RACERS - 1);
    });
  });

  describe('GetObject and HeadObject', () => {
    let etag: string;

    beforeAll(async () => {
      etag = (await put('read/audio.ogg', 'audio bytes')).etag ?? '';
    });

    it('GetObject If-Match: returns the object for its ETag, 412 for another', async () => {
      const matching = await s3.client.send(
        new GetObjectCommand({ Bucket: BUCKET, Key: 'read/audio.ogg', IfMatch: etag }),
      );
      const other = await outcome(
        s3.client,
        new GetObjectCommand({ Bucket: BUCKET, Key: 'read/audio.ogg', IfMatch: md5Etag('other') }),
      );

      expect(await matching.Body?.transformToString('utf-8')).toBe('audio bytes');
      expect(other).toMatchObject({ status: 412, name: 'PreconditionFailed' });
    });

    it('a ranged GetObject with If-Match is refused too once the object changed', async () => {
      await put('read/replaced.ogg', 'original');
      const pinned = md5Etag('original');
      await put('read/replaced.ogg', 'replacement');

      const result = await outcome(
        s3.client,
        new GetObjectCommand({
          Bucket: BUCKET,
          Key: 'read/replaced.ogg',
          Range: 'bytes=0-3',
          IfMatch: pinned,
        }),
      );

      expect(result.status).toBe(412);
    });

    it('HeadObject If-Match: 200 for its ETag, 412 for another', async () => {
      const matching = await outcome(
        s3.client,
        new HeadObjectCommand({ Bucket: BUCKET, Key: 'read/audio.ogg', IfMatch: etag }),
      );
      const other = await outcome(
        s3.client,
        new HeadObjectCommand({ Bucket: BUCKET, Key: 'read/audio.ogg', IfMatch: md5Etag('other') }),
      );

      expect(matching).toMatchObject({ status: 200, etag });
      expect(other.status).toBe(412);
    });

    it('If-None-Match with the current ETag answers 304 on GET and HEAD', async () => {
      const get = await outcome(
        s3.client,
        new GetObjectCommand({ Bucket: BUCKET, Key: 'read/audio.ogg', IfNoneMatch: etag }),
      );
      const head = await outcome(
        s3.client,
        new HeadObjectCommand({ Bucket: BUCKET, Key: 'read/audio.ogg', IfNoneMatch: etag }),
      );

      expect([get.status, head.status]).toEqual([304, 304]);
    });

    it('If-Match on a missing object answers 404', async () => {
      const result = await outcome(
        s3.client,
        new GetObjectCommand({ Bucket: BUCKET, Key: 'read/none.ogg', IfMatch: etag }),
      );

      expect(result).toMatchObject({ status: 404, name: 'NoSuchKey' });
    });

    it('presigned GET URLs still work through the proxy', async () => {
      const url = await getSignedUrl(
        s3.client,
        new GetObjectCommand({ Bucket: BUCKET, Key: 'read/audio.ogg' }),
        {
          expiresIn: 60,
        },
      );

      const response = await fetch(url);

      expect(response.status).toBe(200);
      expect(await response.text()).toBe('audio bytes');
    });
  });

  describe('deletes and copies', () => {
    it('DeleteObject If-Match: 412 and kept for another ETag, deleted for its own', async () => {
      const { etag } = await put('delete/one.json', 'x');

      const refused = await outcome(
        s3.client,
        new DeleteObjectCommand({ Bucket: BUCKET, Key: 'delete/one.json', IfMatch: md5Etag('other') }),
      );
      const keptBody = await body(s3.client, 'delete/one.json');
      const deleted = await outcome(
        s3.client,
        new DeleteObjectCommand({ Bucket: BUCKET, Key: 'delete/one.json', IfMatch: etag }),
      );

      expect(refused.status).toBe(412);
      expect(keptBody).toBe('x');
      expect(deleted.status).toBe(204);
      expect(await body(s3.client, 'delete/one.json')).toBeUndefined();
    });

    it('DeleteObjects passes through and deletes every key it names, escaped ones too', async () => {
      await put('delete/a&b.json', '1');
      await put('delete/c.json', '2');

      const response = await s3.client.send(
        new DeleteObjectsCommand({
          Bucket: BUCKET,
          Delete: { Objects: [{ Key: 'delete/a&b.json' }, { Key: 'delete/c.json' }], Quiet: true },
        }),
      );

      expect(response.Errors ?? []).toEqual([]);
      expect(await body(s3.client, 'delete/a&b.json')).toBeUndefined();
      expect(await body(s3.client, 'delete/c.json')).toBeUndefined();
    });

    it('CopyObject passes through, and If-None-Match protects its destination', async () => {
      await put('copy/source.json', 'source');
      await put('copy/taken.json', 'taken');

      const copied = await outcome(
        s3.client,
        new CopyObjectCommand({
          Bucket: BUCKET,
          Key: 'copy/fresh.json',
          CopySource: `${BUCKET}/copy/source.json`,
        }),
      );
      const refused = await outcome(
        s3.client,
        new CopyObjectCommand({
          Bucket: BUCKET,
          Key: 'copy/taken.json',
          CopySource: `${BUCKET}/copy/source.json`,
          IfNoneMatch: '*',
        }),
      );

      expect(copied.status).toBe(200);
      expect(await body(s3.client, 'copy/fresh.json')).toBe('source');
      expect(refused.status).toBe(412);
      expect(await body(s3.client, 'copy/taken.json')).toBe('taken');
    });
  });

  it('counts the requests it refused, by status and code', async () => {
    await put('counted/taken.json', 'first');
    const before = s3.refused()['412 PreconditionFailed'] ?? 0;

    await put('counted/taken.json', 'second', { IfNoneMatch: '*' });

    expect(s3.refused()['412 PreconditionFailed']).toBe(before + 1);
  });

  describe('behind the fault proxy (as the harness wires it)', () => {
    let faults: S3FaultProxy;

    beforeAll(async () => {
      faults = await startS3FaultProxy(s3.endpoint);
    });

    afterAll(async () => {
      await faults.close();
    });

    it('an injected 409 ConditionalRequestConflict reaches the client, then the precondition still holds', async () => {
      const viaFaults = new S3Client({
        endpoint: faults.url,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: EMBEDDED_S3_CREDENTIALS,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
      await put('faults/taken.json', 'first');
      faults.inject({
        method: 'PUT',
        path: /faults\/taken\.json$/,
        status: 409,
        code: 'ConditionalRequestConflict',
        times: 1,
      });

      const conflict = await outcome(
        viaFaults,
        new PutObjectCommand({ Bucket: BUCKET, Key: 'faults/taken.json', Body: 'second', IfNoneMatch: '*' }),
      );
      const retried = await outcome(
        viaFaults,
        new PutObjectCommand({ Bucket: BUCKET, Key: 'faults/taken.json', Body: 'second', IfNoneMatch: '*' }),
      );
      viaFaults.destroy();

      expect(conflict).toMatchObject({ status: 409, name: 'ConditionalRequestConflict' });
      expect(retried.status).toBe(412);
    });
  });
});

describe('s3rver without the proxy (why the proxy exists)', () => {
  let directory: string;
  let raw: EmbeddedS3;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 's3-raw-'));
    raw = await startEmbeddedS3({ directory, bucket: BUCKET, conditionalRequests: false });
  });

  afterAll(async () => {
    await raw.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('talks to s3rver directly', () => {
    expect(raw.endpoint).toBe(raw.s3rverEndpoint);
  });

  it(`lets more than one of ${RACERS} concurrent If-None-Match: * writers "create" the key`, async () => {
    const results = await race(raw.client, 'raced.json');

    expect(results.filter((r) => r.status === 200).length).toBeGreaterThan(1);
  });

  it('ignores If-None-Match: * on an existing key and If-Match with a wrong ETag', async () => {
    await raw.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'taken.json', Body: 'first' }));

    const create = await outcome(
      raw.client,
      new PutObjectCommand({ Bucket: BUCKET, Key: 'taken.json', Body: 'second', IfNoneMatch: '*' }),
    );
    const swap = await outcome(
      raw.client,
      new PutObjectCommand({ Bucket: BUCKET, Key: 'taken.json', Body: 'third', IfMatch: md5Etag('nope') }),
    );
    const read = await outcome(
      raw.client,
      new GetObjectCommand({ Bucket: BUCKET, Key: 'taken.json', IfMatch: md5Etag('nope') }),
    );

    expect([create.status, swap.status, read.status]).toEqual([200, 200, 200]);
  });
});
