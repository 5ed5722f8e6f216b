/**
 * The S3 client every step uses, apart from `clients.ts` so that a step which never calls
 * AssemblyAI (Validate, Format) does not bundle the provider's SDK, `ws`, Powertools Parameters
 * and the Secrets Manager client with it: esbuild keeps every module a bundled file imports.
 */
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { S3Client } from '@aws-sdk/client-s3';

/** S3 client; `S3_FORCE_PATH_STYLE=true` and `AWS_ENDPOINT_URL_S3` point it at a local emulator. */
export function createS3Client(tracer: Tracer, env = process.env): S3Client {
  return tracer.captureAWSv3Client(new S3Client({ forcePathStyle: env.S3_FORCE_PATH_STYLE === 'true' }));
}
