/** The bucket a reviewer would otherwise have to trust: private, TLS only, encrypted, expiring. */
import { Match } from 'aws-cdk-lib/assertions';
import { type CfnTemplate, resourcesOfType, type Synthesized, synth } from '../synth.js';

function transcriptionBucket(json: CfnTemplate) {
  const found = resourcesOfType(json, 'AWS::S3::Bucket').find(
    ([, r]) =>
      typeof r.Properties.BucketName === 'string' && r.Properties.BucketName.startsWith('wisevoice-'),
  );
  if (!found) throw new Error('no transcription bucket');
  return { id: found[0], props: found[1].Properties };
}

describe('TranscriptionStorage', () => {
  describe('defaults (dev)', () => {
    let dev: Synthesized;
    beforeAll(() => {
      dev = synth();
    });

    it('names the bucket wisevoice-transcription-{environment}', () => {
      expect(transcriptionBucket(dev.json).props.BucketName).toBe('wisevoice-transcription-dev');
    });

    it('blocks all public access and enforces bucket-owner object ownership', () => {
      const { props } = transcriptionBucket(dev.json);

      expect(props.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(props.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    });

    it('encrypts with SSE-S3', () => {
      expect(transcriptionBucket(dev.json).props.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      });
    });

    it('denies every request without TLS 1.2', () => {
      const { id } = transcriptionBucket(dev.json);

      dev.template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
            }),
          ]),
        },
      });
    });

    it('expires audio, results and work objects after their retention days', () => {
      expect(transcriptionBucket(dev.json).props.LifecycleConfiguration).toEqual({
        Rules: [
          { Id: 'expire-audio', Prefix: 'transcription/', ExpirationInDays: 7, Status: 'Enabled' },
          { Id: 'expire-results', Prefix: 'results/', ExpirationInDays: 30, Status: 'Enabled' },
          { Id: 'expire-work', Prefix: 'work/', ExpirationInDays: 1, Status: 'Enabled' },
          {
            Id: 'abort-incomplete-uploads',
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            Status: 'Enabled',
          },
        ],
      });
    });

    it('keeps no object versions and writes no access logs outside prod', () => {
      const { props } = transcriptionBucket(dev.json);

      expect(props.VersioningConfiguration).toBeUndefined();
      expect(props.LoggingConfiguration).toBeUndefined();
      expect(resourcesOfType(dev.json, 'AWS::S3::Bucket')).toHaveLength(1);
    });

    it('deletes the bucket with a dev stack', () => {
      dev.template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    });
  });

  describe('prod with kms and custom retention', () => {
    let prod: Synthesized;
    beforeAll(() => {
      prod = synth({ environment: 'prod', kms: 'true', audioRetentionDays: '3', resultRetentionDays: '14' });
    });

    it('encrypts with the stack key and an S3 bucket key', () => {
      const keyId = (resourcesOfType(prod.json, 'AWS::KMS::Key')[0] as [string, unknown])[0];

      expect(transcriptionBucket(prod.json).props.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] },
            },
          },
        ],
      });
      prod.template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    });

    it('applies the retention days from context', () => {
      const rules = (
        transcriptionBucket(prod.json).props.LifecycleConfiguration as {
          Rules: { Id: string; ExpirationInDays?: number }[];
        }
      ).Rules;

      expect(rules.find((r) => r.Id === 'expire-audio')?.ExpirationInDays).toBe(3);
      expect(rules.find((r) => r.Id === 'expire-results')?.ExpirationInDays).toBe(14);
    });

    it('writes server access logs to a private, TLS-only, expiring log bucket', () => {
      const logBucket = resourcesOfType(prod.json, 'AWS::S3::Bucket').find(
        ([, r]) => r.Properties.BucketName === undefined,
      );
      if (!logBucket) throw new Error('no log bucket');

      expect(transcriptionBucket(prod.json).props.LoggingConfiguration).toEqual({
        DestinationBucketName: { Ref: logBucket[0] },
        LogFilePrefix: 'transcription-bucket/',
      });
      expect(logBucket[1].Properties.PublicAccessBlockConfiguration).toBeDefined();
      expect(logBucket[1].Properties.LifecycleConfiguration).toEqual({
        Rules: [{ Id: 'expire-access-logs', ExpirationInDays: 90, Status: 'Enabled' }],
      });
      prod.template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: logBucket[0] },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });

    it('retains the bucket and the key when the stack is deleted, but not when its first create rolls back', () => {
      // RetainExceptOnCreate: a failed first deploy leaves nothing behind, so a retry does not fail
      // with "already exists" on the named bucket.
      prod.template.hasResource('AWS::S3::Bucket', {
        DeletionPolicy: 'RetainExceptOnCreate',
        UpdateReplacePolicy: 'Retain',
        Properties: { BucketName: 'wisevoice-transcription-prod' },
      });
      prod.template.hasResource('AWS::KMS::Key', {
        DeletionPolicy: 'RetainExceptOnCreate',
        UpdateReplacePolicy: 'Retain',
      });
    });

    it('keeps every named prod resource the same way: secret, log groups, buckets', () => {
      const named = [
        'AWS::S3::Bucket',
        'AWS::SecretsManager::Secret',
        'AWS::Logs::LogGroup',
        'AWS::KMS::Key',
      ];
      const policies = named.flatMap((type) =>
        Object.values(prod.template.findResources(type)).map((r) => `${type} ${r.DeletionPolicy}`),
      );

      expect(policies.length).toBeGreaterThan(named.length);
      expect(policies.filter((p) => !p.endsWith(' RetainExceptOnCreate'))).toEqual([]);
    });
  });

  it('creates no bucket when an existing one is named', () => {
    const { json } = synth({ existingBucketName: 'team-audio' });

    expect(resourcesOfType(json, 'AWS::S3::Bucket')).toEqual([]);
  });
});
