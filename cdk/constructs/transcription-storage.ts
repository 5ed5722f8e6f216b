/**
 * The one bucket the workflow reads audio from and writes results to: created with the service's
 * defaults (private, TLS only, encrypted, expiring) or an existing bucket by name. It also hands out
 * the exact per-prefix IAM statements the steps and the bot get, so no one grants `s3:*`.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  type LifecycleRule,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { keyUseThrough } from '../key-use.js';
import { acknowledge } from '../nag.js';

/** What a principal may do with the objects under one key prefix. */
export type ObjectAction = 'read' | 'write' | 'delete';

export interface PrefixAccess {
  prefix: string;
  actions: ObjectAction[];
}

const S3_ACTIONS: Record<ObjectAction, string> = {
  read: 's3:GetObject',
  write: 's3:PutObject',
  delete: 's3:DeleteObject',
};

export interface TranscriptionStorageProps {
  /** Name of the bucket to create. */
  bucketName: string;
  /** Use this existing bucket instead of creating one. @default - create `bucketName` */
  existingBucketName?: string;
  /** Encrypt with a customer managed KMS key instead of SSE-S3. @default false */
  kms?: boolean;
  /** The key to use when `kms` is on, instead of creating one (required for an existing KMS-encrypted bucket). @default - a new key with rotation */
  existingKmsKeyArn?: string;
  /** Write S3 server access logs of the created bucket into a separate log bucket. @default false */
  accessLogs?: boolean;
  inputPrefix: string;
  resultsPrefix: string;
  workPrefix: string;
  /** Days until uploaded audio under `inputPrefix` expires. */
  audioRetentionDays: number;
  /** Days until results under `resultsPrefix` expire. */
  resultRetentionDays: number;
  /** Days until leftover intermediate objects under `workPrefix` expire. */
  workRetentionDays: number;
  /** Days until access log objects expire. @default 90 */
  accessLogRetentionDays?: number;
  /** What happens to the bucket, the log bucket and the key when the stack is deleted. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  removalPolicy?: RemovalPolicy;
}

export class TranscriptionStorage extends Construct {
  readonly bucket: IBucket;
  /** The customer managed key, when `kms` is on. */
  readonly key?: IKey;
  /** The log bucket, when access logs are on for a created bucket. */
  readonly accessLogBucket?: Bucket;
  readonly inputPrefix: string;
  readonly resultsPrefix: string;
  readonly workPrefix: string;

  constructor(scope: Construct, id: string, props: TranscriptionStorageProps) {
    super(scope, id);
    this.inputPrefix = props.inputPrefix;
    this.resultsPrefix = props.resultsPrefix;
    this.workPrefix = props.workPrefix;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;

    if (props.kms) {
      this.key = props.existingKmsKeyArn
        ? Key.fromKeyArn(this, 'Key', props.existingKmsKeyArn)
        : new Key(this, 'Key', {
            description: `Encrypts transcription audio, results and the AssemblyAI key (${props.bucketName})`,
            enableKeyRotation: true,
            removalPolicy,
          });
    }

    if (props.existingBucketName) {
      this.bucket = Bucket.fromBucketName(this, 'Bucket', props.existingBucketName);
      return;
    }

    if (props.accessLogs) {
      this.accessLogBucket = new Bucket(this, 'AccessLogBucket', {
        // Server access log delivery supports SSE-S3 only.
        encryption: BucketEncryption.S3_MANAGED,
        blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
        objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforceSSL: true,
        minimumTLSVersion: 1.2,
        lifecycleRules: [
          { id: 'expire-access-logs', expiration: Duration.days(props.accessLogRetentionDays ?? 90) },
        ],
        removalPolicy,
      });
      // cdk-nag does not ask a log destination bucket to log itself (S1 is compliant here).
    }

    const lifecycleRules: LifecycleRule[] = [
      { id: 'expire-audio', prefix: props.inputPrefix, expiration: Duration.days(props.audioRetentionDays) },
      {
        id: 'expire-results',
        prefix: props.resultsPrefix,
        expiration: Duration.days(props.resultRetentionDays),
      },
      { id: 'expire-work', prefix: props.workPrefix, expiration: Duration.days(props.workRetentionDays) },
      { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
    ];

    const bucket = new Bucket(this, 'Bucket', {
      bucketName: props.bucketName,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      encryption: this.key ? BucketEncryption.KMS : BucketEncryption.S3_MANAGED,
      encryptionKey: this.key,
      // One data key per bucket instead of one KMS call per object: KMS cost stays flat.
      bucketKeyEnabled: this.key ? true : undefined,
      // Objects are transient and expire; versions would keep personal audio past its retention.
      versioned: false,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: this.accessLogBucket ? 'transcription-bucket/' : undefined,
      lifecycleRules,
      removalPolicy,
    });
    if (!this.accessLogBucket) {
      acknowledge(
        bucket,
        'AwsSolutions-S1',
        'Server access logs are off for this non-production environment (context accessLogs, default on for prod only): it holds short-lived test audio, and every access by the workflow is already in its Lambda logs and X-Ray traces.',
      );
    }
    this.bucket = bucket;
  }

  /** `arn:…:s3:::bucket/{prefix}*`: the objects under one key prefix. */
  objectsArn(prefix: string): string {
    return this.bucket.arnForObjects(`${prefix}*`);
  }

  /**
   * The statements for the given prefix access: the S3 object actions on each prefix, optionally
   * `s3:ListBucket` (so a missing object is a 404, not a 403), and the matching KMS actions.
   */
  statementsFor(access: PrefixAccess[], options: { listBucket?: boolean } = {}): PolicyStatement[] {
    const statements = access.map(
      (a) =>
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: a.actions.map((action) => S3_ACTIONS[action]),
          resources: [this.objectsArn(a.prefix)],
        }),
    );
    if (options.listBucket) {
      statements.push(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['s3:ListBucket'],
          resources: [this.bucket.bucketArn],
        }),
      );
    }
    const actions = new Set(access.flatMap((a) => a.actions));
    const kmsActions = [
      ...(actions.has('read') ? ['kms:Decrypt'] : []),
      ...(actions.has('write') ? ['kms:GenerateDataKey'] : []),
    ];
    if (this.key && kmsActions.length > 0) {
      statements.push(keyUseThrough(this, this.key, 's3', kmsActions));
    }
    return statements;
  }
}

/** The reason every per-prefix object wildcard is acknowledged with. */
export const OBJECT_PREFIX_WILDCARD_REASON =
  'S3 object keys are per user, file and execution ({prefix}{user_id}/{file_id}...), so a key prefix is the narrowest resource S3 IAM offers; each statement names only the prefix and actions this principal needs.';
