/**
 * S3's conditional requests, enforced in front of s3rver. s3rver 3.7.1 ignores `If-None-Match` and
 * `If-Match` on PutObject, `If-Match` on GetObject/HeadObject/DeleteObject, and lets every one of
 * ten concurrent `If-None-Match: *` writes of one key succeed (measured: test/local/s3-conditional-proxy.test.ts).
 * Real S3 refuses them, and the workflow's exactly-once result writes rely on that, so this proxy
 * answers as S3 documents:
 *
 * - PutObject, CopyObject (destination), CompleteMultipartUpload: `If-None-Match: *` → 412
 *   PreconditionFailed when the key exists (any other value → 501 NotImplemented); `If-Match: <etag>`
 *   → 412 when the current ETag differs, 404 NoSuchKey when there is no object.
 * - GetObject, HeadObject: `If-Match` → 412 when the ETag differs (`If-None-Match` → 304 is s3rver's own).
 * - DeleteObject: `If-Match` → 412 when the ETag differs, 404 NoSuchKey when there is no object.
 *
 * Every request that writes or deletes a key, and every conditional read, holds a per-key lock from
 * the ETag check until its answer is sent, so check-then-write is atomic here as it is in S3.
 * DeleteObjects takes the lock of each key it names and passes through. Because writes are
 * serialized, the proxy never produces S3's 409 ConditionalRequestConflict; inject that with the
 * fault proxy. The ETag compared is the one s3rver itself returns (quoted MD5), read with a HEAD.
 * Path-style requests only (every local client sets `forcePathStyle`).
 */
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forwardRequest } from './http-forward.js';

export interface S3ConditionalProxy {
  url: string;
  /** Requests refused by a precondition, by `<status> <S3 error code>`. */
  refused(): Record<string, number>;
  close(): Promise<void>;
}

/** Query parameters that select something other than the object itself (ACL, tags, parts, …). */
const SUBRESOURCES = new Set([
  'acl',
  'attributes',
  'legal-hold',
  'restore',
  'retention',
  'select',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
]);

type Operation =
  | { kind: 'write' | 'read' | 'delete'; lockIds: string[]; objectPath: string }
  | { kind: 'delete-objects'; bucket: string }
  | { kind: 'pass' };

function classify(req: IncomingMessage): Operation {
  const url = new URL(req.url ?? '/', 'http://proxy');
  const [, rawBucket = '', ...rawKey] = url.pathname.split('/');
  const bucket = decodeURIComponent(rawBucket);
  const key = decodeURIComponent(rawKey.join('/'));
  const query = [...url.searchParams.keys()];
  if (bucket && !key) {
    return req.method === 'POST' && query.includes('delete')
      ? { kind: 'delete-objects', bucket }
      : { kind: 'pass' };
  }
  if (!key) return { kind: 'pass' };
  const lockIds = [`${bucket}/${key}`];
  const objectPath = url.pathname;
  const onObject = !query.some((name) => SUBRESOURCES.has(name));
  switch (req.method) {
    case 'PUT':
      // UploadPart / UploadPartCopy carry partNumber and uploadId: they do not change the object.
      return onObject && !query.includes('partNumber')
        ? { kind: 'write', lockIds, objectPath }
        : { kind: 'pass' };
    case 'POST':
      // CompleteMultipartUpload is the POST with an uploadId; the others (CreateMultipartUpload, …) pass.
      return query.includes('uploadId') && !query.includes('uploads')
        ? { kind: 'write', lockIds, objectPath }
        : { kind: 'pass' };
    case 'DELETE':
      return onObject ? { kind: 'delete', lockIds, objectPath } : { kind: 'pass' };
    case 'GET':
    case 'HEAD': {
      const conditional = req.headers['if-match'] !== undefined || req.headers['if-none-match'] !== undefined;
      return onObject && conditional ? { kind: 'read', lockIds, objectPath } : { kind: 'pass' };
    }
    default:
      return { kind: 'pass' };
  }
}

function unquote(etag: string): string {
  return etag
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
}

/** RFC 7232 If-Match: `*` or a comma-separated list of entity tags. */
function etagMatches(header: string, current: string): boolean {
  return header.split(',').some((tag) => tag.trim() === '*' || unquote(tag) === unquote(current));
}

interface Refusal {
  status: number;
  code: string;
  message: string;
  condition?: string;
}

const PRECONDITION_FAILED = 'At least one of the pre-conditions you specified did not hold';

/** S3's answer to the request's preconditions, given the object's current ETag (undefined: no object). */
function evaluate(
  kind: 'write' | 'read' | 'delete',
  headers: IncomingMessage['headers'],
  current: string | undefined,
): Refusal | undefined {
  const ifMatch = headers['if-match'];
  const ifNoneMatch = headers['if-none-match'];
  if (ifMatch !== undefined) {
    if (current === undefined) {
      // A read of a missing object is answered 404 by s3rver itself.
      if (kind === 'read') return undefined;
      return { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' };
    }
    if (!etagMatches(ifMatch, current)) {
      return { status: 412, code: 'PreconditionFailed', message: PRECONDITION_FAILED, condition: 'If-Match' };
    }
  }
  if (kind === 'write' && ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') {
      return {
        status: 501,
        code: 'NotImplemented',
        message: 'A header you provided implies functionality that is not implemented',
        condition: 'If-None-Match',
      };
    }
    if (current !== undefined) {
      return {
        status: 412,
        code: 'PreconditionFailed',
        message: PRECONDITION_FAILED,
        condition: 'If-None-Match',
      };
    }
  }
  return undefined;
}

/** One queue per key; a request holding several keys takes them in sorted order (no deadlock). */
class KeyLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async acquire(ids: string[]): Promise<() => void> {
    const releases: Array<() => void> = [];
    for (const id of [...new Set(ids)].sort()) releases.push(await this.lockOne(id));
    return () => {
      for (const release of releases.reverse()) release();
    };
  }

  private async lockOne(id: string): Promise<() => void> {
    const previous = this.tails.get(id) ?? Promise.resolve();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => held);
    this.tails.set(id, tail);
    await previous;
    return () => {
      release();
      if (this.tails.get(id) === tail) this.tails.delete(id);
    };
  }
}

function xmlUnescape(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, entity: string) => {
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (entity[0] !== '#') return named[entity.toLowerCase()] ?? '';
    const code =
      entity[1]?.toLowerCase() === 'x' ? Number.parseInt(entity.slice(2), 16) : Number(entity.slice(1));
    return String.fromCodePoint(code);
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startS3ConditionalProxy(
  target: string,
  options: { port?: number } = {},
): Promise<S3ConditionalProxy> {
  const upstream = new URL(target);
  const locks = new KeyLocks();
  const counts: Record<string, number> = {};

  /** The object's ETag as s3rver reports it, or undefined when there is no object. */
  const currentEtag = (objectPath: string) =>
    new Promise<string | undefined>((resolve, reject) => {
      const head = request(
        { host: upstream.hostname, port: upstream.port, method: 'HEAD', path: objectPath },
        (answer) => {
          answer.resume();
          const etag = answer.headers.etag;
          if (answer.statusCode === 200 && etag) resolve(etag);
          else if (answer.statusCode === 404) resolve(undefined);
          else reject(new Error(`HEAD ${objectPath} answered ${answer.statusCode}`));
        },
      );
      head.on('error', reject);
      head.end();
    });

  const forward = (req: IncomingMessage, res: ServerResponse, body?: Buffer) =>
    forwardRequest(upstream, req, res, body);

  const refuse = (req: IncomingMessage, res: ServerResponse, refusal: Refusal) => {
    const label = `${refusal.status} ${refusal.code}`;
    counts[label] = (counts[label] ?? 0) + 1;
    const condition = refusal.condition ? `<Condition>${refusal.condition}</Condition>` : '';
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${refusal.code}</Code><Message>${refusal.message}</Message>${condition}<RequestId>local-conditional-proxy</RequestId></Error>`;
    const send = () => {
      res.writeHead(refusal.status, { 'Content-Type': 'application/xml' });
      // HEAD answers carry no body, in S3 as in HTTP.
      res.end(req.method === 'HEAD' ? undefined : xml);
    };
    // Answer once the client has sent its whole body, so it sees the error rather than a reset.
    req.resume();
    if (req.complete) send();
    else req.once('end', send);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const operation = classify(req);
    if (operation.kind === 'pass') return forward(req, res);
    const answered = new Promise<void>((resolve) => res.once('close', () => resolve()));
    let release: (() => void) | undefined;
    try {
      if (operation.kind === 'delete-objects') {
        const body = await readBody(req);
        const keys = [...body.toString('utf8').matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map(
          (match) => `${operation.bucket}/${xmlUnescape(match[1] ?? '')}`,
        );
        release = await locks.acquire(keys);
        if (!res.destroyed) forward(req, res, body);
      } else {
        release = await locks.acquire(operation.lockIds);
        // The client gave up while it waited for the key: nothing to check or forward.
        if (res.destroyed) return release();
        const refusal = evaluate(operation.kind, req.headers, await currentEtag(operation.objectPath));
        if (refusal) refuse(req, res, refusal);
        else forward(req, res);
      }
    } catch {
      res.destroy();
    }
    await answered;
    release?.();
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    refused: () => ({ ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
