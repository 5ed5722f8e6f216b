/**
 * Small JSON-over-S3 helpers shared by the steps, and the one place S3 failures are classified:
 * throttling and 5xx (after the SDK's own retries) become StorageUnavailable, which the state
 * machine retries; a missing object is reported as such; anything else propagates unchanged.
 *
 * The conditional helpers (`putJsonIfAbsent`, `putJsonIfMatch`, `getJsonWithEtag`, `headObject`)
 * use S3's conditional requests, so a result is written once however many executions race for it:
 * a failed precondition (412) is an answer, not an error.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { StorageUnavailable } from './errors.js';

interface AwsError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

const THROTTLING = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestTimeout',
  'InternalError',
]);

function isTransientStorageError(error: unknown): boolean {
  const e = error as AwsError;
  const status = e?.$metadata?.httpStatusCode ?? 0;
  return status >= 500 || status === 429 || THROTTLING.has(e?.name ?? '') || Boolean(e?.$retryable);
}

export function isMissingObject(error: unknown): boolean {
  const e = error as AwsError;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/** Rethrows transient S3 errors as StorageUnavailable, naming the operation (never the object). */
export function classifyStorageError(error: unknown, operation: string): never {
  if (isTransientStorageError(error)) {
    throw new StorageUnavailable(`Storage is temporarily unavailable (${operation}); please try again later`);
  }
  throw error;
}

/** S3 refused a conditional request: 412 PreconditionFailed (If-Match / If-None-Match did not hold). */
export function isPreconditionFailed(error: unknown): boolean {
  const e = error as AwsError;
  return e?.name === 'PreconditionFailed' || e?.$metadata?.httpStatusCode === 412;
}

/** 409 ConditionalRequestConflict: a concurrent write to the key won the race; S3 says retry. */
function isConditionalConflict(error: unknown): boolean {
  const e = error as AwsError;
  return e?.name === 'ConditionalRequestConflict' || e?.$metadata?.httpStatusCode === 409;
}

export async function getJson<T>(s3: S3Client, bucket: string, key: string): Promise<T> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse(await (response.Body?.transformToString('utf-8') ?? Promise.resolve('null'))) as T;
  } catch (error) {
    return classifyStorageError(error, 'read');
  }
}

/** Undefined when the object does not exist. */
export async function getJsonIfExists<T>(s3: S3Client, bucket: string, key: string): Promise<T | undefined> {
  try {
    return await getJson<T>(s3, bucket, key);
  } catch (error) {
    if (isMissingObject(error)) return undefined;
    throw error;
  }
}

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

export async function putJson(
  s3: S3Client,
  bucket: string,
  key: string,
  body: unknown,
  contentType = JSON_CONTENT_TYPE,
): Promise<number> {
  return putBytes(s3, bucket, key, Buffer.from(JSON.stringify(body), 'utf-8'), contentType);
}

/**
 * Writes bytes that already are the object (AssemblyAI's transcript as it came: tens of MB for
 * hours of audio) as they are, without a copy. Returns their length.
 */
export async function putBytes(
  s3: S3Client,
  bucket: string,
  key: string,
  body: Uint8Array,
  contentType = JSON_CONTENT_TYPE,
): Promise<number> {
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
  } catch (error) {
    return classifyStorageError(error, 'write');
  }
  return body.length;
}

/** Every key under `prefix`, all pages. */
export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    try {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } catch (error) {
      return classifyStorageError(error, 'list');
    }
  } while (token);
  return keys;
}

/** Deletes the keys; the ones S3 could not delete (reported per key with a 200) are returned. */
export async function deleteKeys(s3: S3Client, bucket: string, keys: string[]): Promise<string[]> {
  if (keys.length === 0) return [];
  try {
    const response = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
      }),
    );
    return (response.Errors ?? []).map((e) => e.Key ?? '?');
  } catch (error) {
    return classifyStorageError(error, 'delete');
  }
}

/** The outcome of a conditional write; `reason` says which precondition did not hold. */
export type ConditionalWrite =
  | { written: true; etag: string; bytes: number }
  | { written: false; reason: 'exists' | 'changed' | 'missing' };

async function putConditionally(
  s3: S3Client,
  input: PutObjectCommandInput & { Body: Buffer },
  notWritten: (error: unknown) => ConditionalWrite | undefined,
): Promise<ConditionalWrite> {
  // S3 answers 409 when a concurrent conditional write to the key was in flight; its advice is to
  // retry, which re-evaluates the precondition against whatever that write left. Once is enough:
  // a second conflict goes to the state machine's retries as StorageUnavailable.
  for (let attempt = 1; ; attempt += 1) {
    try {
      const response = await s3.send(new PutObjectCommand(input));
      return { written: true, etag: response.ETag ?? '', bytes: input.Body.length };
    } catch (error) {
      const answer = notWritten(error);
      if (answer) return answer;
      if (isConditionalConflict(error)) {
        if (attempt < 2) continue;
        throw new StorageUnavailable(
          'Storage is temporarily unavailable (conditional write conflict); please try again later',
        );
      }
      return classifyStorageError(error, 'write');
    }
  }
}

/**
 * Writes `body` as JSON only if there is no object at `key` (`If-None-Match: *`). Not written when
 * one exists, whoever wrote it: exactly one of several concurrent callers gets `written: true`.
 */
export async function putJsonIfAbsent(
  s3: S3Client,
  bucket: string,
  key: string,
  body: unknown,
  contentType = JSON_CONTENT_TYPE,
): Promise<ConditionalWrite> {
  const bytes = Buffer.from(JSON.stringify(body), 'utf-8');
  return putConditionally(
    s3,
    { Bucket: bucket, Key: key, Body: bytes, ContentType: contentType, IfNoneMatch: '*' },
    (error) => (isPreconditionFailed(error) ? { written: false, reason: 'exists' } : undefined),
  );
}

/**
 * Replaces the object at `key` only if its ETag is still `etag` (`If-Match`), i.e. nobody wrote it
 * since it was read. Not written when it changed, or when it no longer exists (S3 answers 404).
 */
export async function putJsonIfMatch(
  s3: S3Client,
  bucket: string,
  key: string,
  body: unknown,
  etag: string,
  contentType = JSON_CONTENT_TYPE,
): Promise<ConditionalWrite> {
  const bytes = Buffer.from(JSON.stringify(body), 'utf-8');
  return putConditionally(
    s3,
    { Bucket: bucket, Key: key, Body: bytes, ContentType: contentType, IfMatch: etag },
    (error) => {
      if (isPreconditionFailed(error)) return { written: false, reason: 'changed' };
      if (isMissingObject(error) && (error as AwsError).name !== 'NoSuchBucket') {
        return { written: false, reason: 'missing' };
      }
      return undefined;
    },
  );
}

/** The JSON at `key` and the ETag it was read at (for a later `putJsonIfMatch`); undefined when absent. */
export async function getJsonWithEtag<T>(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<{ value: T; etag: string; lastModified?: Date } | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = (await response.Body?.transformToString('utf-8')) ?? 'null';
    return { value: JSON.parse(text) as T, etag: response.ETag ?? '', lastModified: response.LastModified };
  } catch (error) {
    if (isMissingObject(error)) return undefined;
    return classifyStorageError(error, 'read');
  }
}

export interface ObjectHead {
  size: number;
  /** Quoted, as S3 sends it; pass it to `IfMatch` to pin later reads to this exact object. */
  etag: string;
  /** Only when the bucket has versioning enabled (never on the embedded S3: s3rver has none). */
  versionId?: string;
  contentType?: string;
}

/**
 * Size and identity of the object at `key`; undefined when there is none. With `ifMatch`, S3
 * answers 412 when the object is no longer that one: test with `isPreconditionFailed`.
 */
export async function headObject(
  s3: S3Client,
  bucket: string,
  key: string,
  options: { ifMatch?: string } = {},
): Promise<ObjectHead | undefined> {
  try {
    const response = await s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: key, IfMatch: options.ifMatch }),
    );
    return {
      size: response.ContentLength ?? 0,
      etag: response.ETag ?? '',
      ...(response.VersionId && { versionId: response.VersionId }),
      ...(response.ContentType && { contentType: response.ContentType }),
    };
  } catch (error) {
    if (isMissingObject(error)) return undefined;
    return classifyStorageError(error, 'read');
  }
}
