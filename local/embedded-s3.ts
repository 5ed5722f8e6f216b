/**
 * An S3 that runs in-process for local runs and tests: s3rver, file-backed, so the objects a run
 * writes can be opened afterwards under the chosen folder. Its access key must be `S3RVER`.
 */
import { mkdir } from 'node:fs/promises';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

export interface EmbeddedS3 {
  endpoint: string;
  bucket: string;
  directory: string;
  /** A client configured for the embedded server. */
  client: S3Client;
  /** The environment a Lambda handler needs to talk to this server. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export const EMBEDDED_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export async function startEmbeddedS3(options: {
  directory: string;
  bucket: string;
  port?: number;
}): Promise<EmbeddedS3> {
  await mkdir(options.directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    directory: options.directory,
    silent: true,
    configureBuckets: [{ name: options.bucket }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
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
    bucket: options.bucket,
    directory: options.directory,
    client,
    env,
    async close() {
      client.destroy();
      await server.close();
    },
  };
}
