/**
 * An S3 that runs in-process for local runs and tests: s3rver, file-backed, so the objects a run
 * writes can be opened afterwards under the chosen folder. Its access key must be `S3RVER`.
 *
 * s3rver ignores S3's conditional requests (If-None-Match / If-Match), so by default it sits behind
 * the conditional proxy (local/s3-conditional-proxy.ts) and `endpoint`, `env` and `client` all
 * point at the proxy: every test, `npm start` and the load test see S3's precondition answers.
 */
import { mkdir } from 'node:fs/promises';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { type S3ConditionalProxy, startS3ConditionalProxy } from './s3-conditional-proxy.js';

export interface EmbeddedS3 {
  /** Where clients connect: the enforcing proxy unless `conditionalRequests: false`. */
  endpoint: string;
  /**
   * s3rver itself, bypassing the enforcement. Only for tests that prove the proxy matters; the
   * same as `endpoint` when `conditionalRequests: false`.
   */
  s3rverEndpoint: string;
  bucket: string;
  directory: string;
  /** A client configured for `endpoint`. */
  client: S3Client;
  /** The environment a Lambda handler needs to talk to `endpoint`. */
  env: Record<string, string>;
  /** Requests the proxy refused, by `<status> <S3 error code>`; empty without the proxy. */
  refused(): Record<string, number>;
  close(): Promise<void>;
}

export const EMBEDDED_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export async function startEmbeddedS3(options: {
  directory: string;
  bucket: string;
  /** Port of `endpoint`. @default a free one */
  port?: number;
  /** Enforce S3's conditional requests in front of s3rver. @default true */
  conditionalRequests?: boolean;
}): Promise<EmbeddedS3> {
  await mkdir(options.directory, { recursive: true });
  const enforce = options.conditionalRequests ?? true;
  const server = new S3rver({
    address: '127.0.0.1',
    port: enforce ? 0 : (options.port ?? 0),
    directory: options.directory,
    silent: true,
    configureBuckets: [{ name: options.bucket }],
  });
  const { port: s3rverPort } = await server.run();
  const s3rverEndpoint = `http://127.0.0.1:${s3rverPort}`;
  let proxy: S3ConditionalProxy | undefined;
  try {
    proxy = enforce ? await startS3ConditionalProxy(s3rverEndpoint, { port: options.port }) : undefined;
  } catch (error) {
    await server.close();
    throw error;
  }
  const endpoint = proxy?.url ?? s3rverEndpoint;
  const env = {
    AWS_ENDPOINT_URL_S3: endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: EMBEDDED_S3_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: EMBEDDED_S3_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
    // s3rver stores aws-chunked framing bytes verbatim; plain bodies keep objects intact (NOTES.md).
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
  };
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: EMBEDDED_S3_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    s3rverEndpoint,
    bucket: options.bucket,
    directory: options.directory,
    client,
    env,
    refused: () => proxy?.refused() ?? {},
    async close() {
      client.destroy();
      await proxy?.close();
      await server.close();
    },
  };
}
