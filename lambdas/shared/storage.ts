/**
 * Small JSON-over-S3 helpers shared by the steps, and the one place S3 failures are classified:
 * throttling and 5xx (after the SDK's own retries) become StorageUnavailable, which the state
 * machine retries; a missing object is reported as such; anything else propagates unchanged.
 */
import { DeleteObjectsCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
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

export async function putJson(
  s3: S3Client,
  bucket: string,
  key: string,
  body: unknown,
  contentType = 'application/json; charset=utf-8',
): Promise<number> {
  const bytes = Buffer.from(JSON.stringify(body), 'utf-8');
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: contentType }));
  } catch (error) {
    return classifyStorageError(error, 'write');
  }
  return bytes.length;
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
