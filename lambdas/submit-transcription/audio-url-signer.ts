/**
 * Signs the presigned GET URL AssemblyAI downloads the audio from, with credentials that outlive
 * it. A URL signed with temporary credentials stops working when they expire, whatever its
 * `X-Amz-Expires` says (S3 user guide, "Expiration time for presigned URLs"); the Lambda role's
 * session credentials carry no expiry the code can read, and may be rotated out long before a
 * URL's lifetime has passed.
 *
 * Deployed, the URL is therefore signed with a session of a dedicated signer role
 * (AUDIO_URL_SIGNER_ROLE_ARN, `fromTemporaryCredentials`), whose expiry STS states. A session is
 * reused while it still covers a new URL's lifetime plus `EXPIRY_MARGIN_SECONDS` and replaced
 * otherwise; a URL is never signed for longer than its credentials live. Role chaining caps such a
 * session at one hour, which is why the stack caps `presignedUrlTtlSeconds` there. Without a
 * signer role (local runs) the S3 client's own credentials are used, under the same rule when
 * they state an expiry.
 *
 * The caching is written here: the SDK's own credential cache refreshes only five minutes before
 * expiry, which says nothing about whether a URL of, say, 50 minutes would outlive its credentials.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { StorageUnavailable } from '../shared/errors.js';

/** Credentials are replaced when they would expire less than this long after the URL. */
export const EXPIRY_MARGIN_SECONDS = 60;
/** Shorter than this, a URL may not even last until AssemblyAI starts downloading. */
export const MIN_URL_SECONDS = 300;
/** An STS session of the signer role: role chaining allows at most one hour. */
export const SIGNER_SESSION_SECONDS = 3600;

export interface SignedAudioUrl {
  url: string;
  /** The lifetime the URL was signed for: the one asked for, or less when its credentials end sooner. */
  expiresInSeconds: number;
}

export interface AudioUrlSigner {
  sign(
    input: { bucket: string; key: string; contentDisposition: string },
    seconds: number,
  ): Promise<SignedAudioUrl>;
}

export interface AudioUrlSignerOptions {
  /** Where signing credentials come from; called again only when the cached ones end too soon. */
  credentials: AwsCredentialIdentityProvider;
  /** The S3 client to sign with, given credentials (region and endpoint as the step's own client). */
  clientFor: (credentials: AwsCredentialIdentity) => S3Client;
  now?: () => Date;
}

function secondsLeft(credentials: AwsCredentialIdentity, now: Date): number {
  return credentials.expiration
    ? (credentials.expiration.getTime() - now.getTime()) / 1000
    : Number.POSITIVE_INFINITY;
}

export function createAudioUrlSigner(options: AudioUrlSignerOptions): AudioUrlSigner {
  const now = options.now ?? (() => new Date());
  let cached: { credentials: AwsCredentialIdentity; client: S3Client } | undefined;

  async function signingClient(seconds: number) {
    if (!cached || secondsLeft(cached.credentials, now()) < seconds + EXPIRY_MARGIN_SECONDS) {
      let credentials: AwsCredentialIdentity;
      try {
        credentials = await options.credentials();
      } catch {
        // STS throttling or an outage: retried like any storage hiccup.
        throw new StorageUnavailable('The audio link could not be signed right now; please try again later');
      }
      cached = { credentials, client: options.clientFor(credentials) };
    }
    return cached;
  }

  return {
    async sign(input, seconds) {
      const { credentials, client } = await signingClient(seconds);
      const lifetime = Math.floor(Math.min(seconds, secondsLeft(credentials, now()) - EXPIRY_MARGIN_SECONDS));
      if (lifetime < Math.min(seconds, MIN_URL_SECONDS)) {
        throw new StorageUnavailable(
          'The audio link could not be signed for long enough; please try again later',
        );
      }
      const command = new GetObjectCommand({
        Bucket: input.bucket,
        Key: input.key,
        ResponseContentDisposition: input.contentDisposition,
      });
      return {
        url: await getSignedUrl(client, command, { expiresIn: lifetime }),
        expiresInSeconds: lifetime,
      };
    },
  };
}

/** A client like `base` (region, endpoint, path style) that signs with `credentials`. */
export function s3ClientLike(base: S3Client, credentials: AwsCredentialIdentity): S3Client {
  return new S3Client({
    region: base.config.region,
    endpoint: base.config.endpoint,
    forcePathStyle: base.config.forcePathStyle,
    credentials,
  });
}

/** The signer Submit uses by default: the S3 client's own credentials (local runs, tests). */
export function signerOfClient(s3: S3Client): AudioUrlSigner {
  return createAudioUrlSigner({
    credentials: () => s3.config.credentials(),
    clientFor: (credentials) => s3ClientLike(s3, credentials),
  });
}
