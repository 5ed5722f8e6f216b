/**
 * Where the client talks to: a deployed stack (its outputs, see README "Wire the bot") or the local
 * endpoint. One shape for both; `clientConfigFromEnv` reads the bot's environment, and endpoint URLs
 * switch every client to a local service without code changes.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DEFAULT_INPUT_PREFIX, DEFAULT_RESULTS_PREFIX } from '../lambdas/shared/contracts.js';
import { ClientConfigurationError } from './errors.js';

export interface ClientEndpoints {
  /** Step Functions (`AWS_ENDPOINT_URL_SFN`, else `AWS_ENDPOINT_URL`). */
  stepfunctions?: string;
  /** S3 (`AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`); path-style addressing when set. */
  s3?: string;
  /** SQS (`AWS_ENDPOINT_URL_SQS`, else `AWS_ENDPOINT_URL`). */
  sqs?: string;
}

export interface ClientConfig {
  /** `TRANSCRIPTION_STATE_MACHINE_ARN`: the stack output `StateMachineArn`. */
  stateMachineArn?: string;
  /** `TRANSCRIPTION_S3_BUCKET`: the stack output `BucketName`. */
  bucket?: string;
  /** `AWS_REGION`; defaults to the state machine ARN's region. */
  region?: string;
  /** `TRANSCRIPTION_COMPLETION_QUEUE_URL`: where completion messages arrive, when the deployment has the queue. */
  completionQueueUrl?: string;
  /** `TRANSCRIPTION_INTAKE_QUEUE_URL`: where `enqueueTranscription` sends, when the deployment has the intake queue (`intakeQueue=true`). */
  intakeQueueUrl?: string;
  /** `TRANSCRIPTION_INPUT_PREFIX` (default `transcription/`): the deployment's `INPUT_PREFIX`. */
  inputPrefix?: string;
  /** `TRANSCRIPTION_INPUT_PER_USER` (default true): the deployment's `INPUT_PER_USER`. */
  inputPerUser?: boolean;
  /** `TRANSCRIPTION_RESULTS_PREFIX` (default `results/`): the deployment's `RESULTS_PREFIX`. */
  resultsPrefix?: string;
  endpoints?: ClientEndpoints;
  /** Static credentials (a local endpoint's); absent: the SDK's default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

type Env = Record<string, string | undefined>;

function flag(value: string | undefined): boolean | undefined {
  const v = value?.trim().toLowerCase();
  if (v === undefined || v === '') return undefined;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new ClientConfigurationError(`Expected true or false, got "${value}"`);
}

const set = (value: string | undefined) => (value?.trim() ? value.trim() : undefined);

/** The client's settings from the environment (see ClientConfig for each variable). */
export function clientConfigFromEnv(env: Env = process.env): ClientConfig {
  const anyEndpoint = set(env.AWS_ENDPOINT_URL);
  const endpoints: ClientEndpoints = {
    stepfunctions: set(env.AWS_ENDPOINT_URL_SFN) ?? anyEndpoint,
    s3: set(env.AWS_ENDPOINT_URL_S3) ?? anyEndpoint,
    sqs: set(env.AWS_ENDPOINT_URL_SQS) ?? anyEndpoint,
  };
  const accessKeyId = set(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = set(env.AWS_SECRET_ACCESS_KEY);
  return withoutUndefined({
    stateMachineArn: set(env.TRANSCRIPTION_STATE_MACHINE_ARN),
    bucket: set(env.TRANSCRIPTION_S3_BUCKET),
    region: set(env.AWS_REGION) ?? set(env.AWS_DEFAULT_REGION),
    completionQueueUrl: set(env.TRANSCRIPTION_COMPLETION_QUEUE_URL),
    intakeQueueUrl: set(env.TRANSCRIPTION_INTAKE_QUEUE_URL),
    inputPrefix: set(env.TRANSCRIPTION_INPUT_PREFIX),
    inputPerUser: flag(env.TRANSCRIPTION_INPUT_PER_USER),
    resultsPrefix: set(env.TRANSCRIPTION_RESULTS_PREFIX),
    endpoints: withoutUndefined(endpoints),
    // Only with a local endpoint: deployed, the SDK's chain (roles, SSO, session tokens) is right.
    credentials:
      (endpoints.stepfunctions || endpoints.s3 || endpoints.sqs) && accessKeyId && secretAccessKey
        ? { accessKeyId, secretAccessKey }
        : undefined,
  });
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** `arn:aws:states:eu-central-1:…` → `eu-central-1`. */
export function regionOfArn(arn: string | undefined): string | undefined {
  const region = arn?.split(':')[3];
  return region ? region : undefined;
}

export interface AwsClients {
  sfn: SFNClient;
  s3: S3Client;
  sqs: SQSClient;
}

/** SDK clients for the configuration: the real services, or the endpoints given. */
export function createAwsClients(config: ClientConfig): AwsClients {
  const region = config.region ?? regionOfArn(config.stateMachineArn) ?? 'us-east-1';
  const common = { region, ...(config.credentials && { credentials: config.credentials }) };
  const s3Endpoint = config.endpoints?.s3;
  return {
    sfn: new SFNClient({ ...common, endpoint: config.endpoints?.stepfunctions }),
    s3: new S3Client({
      ...common,
      endpoint: s3Endpoint,
      forcePathStyle: Boolean(s3Endpoint),
      // Local S3 emulators store aws-chunked framing as object bytes (see NOTES): plain bodies there.
      ...(s3Endpoint && {
        requestChecksumCalculation: 'WHEN_REQUIRED' as const,
        responseChecksumValidation: 'WHEN_REQUIRED' as const,
      }),
    }),
    sqs: new SQSClient({ ...common, endpoint: config.endpoints?.sqs }),
  };
}

/** The settings with the deployment's defaults filled in. */
export function resolvedPrefixes(config: ClientConfig): {
  inputPrefix: string;
  resultsPrefix: string;
  inputPerUser: boolean;
} {
  return {
    inputPrefix: config.inputPrefix ?? DEFAULT_INPUT_PREFIX,
    resultsPrefix: config.resultsPrefix ?? DEFAULT_RESULTS_PREFIX,
    inputPerUser: config.inputPerUser ?? true,
  };
}
