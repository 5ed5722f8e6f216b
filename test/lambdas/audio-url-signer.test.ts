/** The audio URL is never signed for longer than the credentials that sign it live. */
import { S3Client } from '@aws-sdk/client-s3';
import type { AwsCredentialIdentity } from '@smithy/types';
import {
  createAudioUrlSigner,
  EXPIRY_MARGIN_SECONDS,
  s3ClientLike,
} from '../../lambdas/submit-transcription/audio-url-signer.js';
import { rejectionOf } from './step-fixtures.js';

const base = new S3Client({ region: 'eu-west-1', forcePathStyle: false });
const OBJECT = {
  bucket: 'audio',
  key: 'transcription/1/a.ogg',
  contentDisposition: 'inline; filename="1-a.ogg"',
};
const START = new Date('2026-03-01T10:00:00.000Z');

/** A credential source like STS: every call is a new session lasting `sessionSeconds` from the clock. */
function sessions(clock: { now: Date }, sessionSeconds: number | undefined) {
  const issued: string[] = [];
  const source = async (): Promise<AwsCredentialIdentity> => {
    const accessKeyId = `ASIASESSION${issued.length + 1}`;
    issued.push(accessKeyId);
    return {
      accessKeyId,
      secretAccessKey: 'secret',
      sessionToken: `token-${issued.length}`,
      ...(sessionSeconds !== undefined && {
        expiration: new Date(clock.now.getTime() + sessionSeconds * 1000),
      }),
    };
  };
  return { source, issued };
}

function signerWith(clock: { now: Date }, sessionSeconds: number | undefined) {
  const { source, issued } = sessions(clock, sessionSeconds);
  const signer = createAudioUrlSigner({
    credentials: source,
    clientFor: (credentials) => s3ClientLike(base, credentials),
    now: () => clock.now,
  });
  return { signer, issued };
}

const query = (url: string) => new URL(url).searchParams;

describe('createAudioUrlSigner', () => {
  it('signs for the lifetime asked when the credentials state no expiry', async () => {
    // Arrange
    const { signer } = signerWith({ now: START }, undefined);

    // Act
    const signed = await signer.sign(OBJECT, 2_400);

    // Assert
    expect(signed.expiresInSeconds).toBe(2_400);
    expect(query(signed.url).get('X-Amz-Expires')).toBe('2400');
  });

  it('signs with the session it got, token included, for no longer than that session lives', async () => {
    // Arrange: sessions of one hour (the role-chaining maximum), a URL of one hour asked
    const { signer } = signerWith({ now: START }, 3_600);

    // Act
    const signed = await signer.sign(OBJECT, 3_600);

    // Assert
    expect(signed.expiresInSeconds).toBe(3_600 - EXPIRY_MARGIN_SECONDS);
    expect(query(signed.url).get('X-Amz-Expires')).toBe(String(3_600 - EXPIRY_MARGIN_SECONDS));
    expect(query(signed.url).get('X-Amz-Credential')).toMatch(/^ASIASESSION\d\//);
    expect(query(signed.url).get('X-Amz-Security-Token')).toMatch(/^token-/);
  });

  it('reuses a session while it outlives the next URL by the margin', async () => {
    // Arrange
    const clock = { now: START };
    const { signer, issued } = signerWith(clock, 3_600);
    await signer.sign(OBJECT, 900);
    clock.now = new Date(START.getTime() + 30 * 60_000);

    // Act: 30 min left, a 15 min URL asked
    const signed = await signer.sign(OBJECT, 900);

    // Assert
    expect(issued).toHaveLength(1);
    expect(signed.expiresInSeconds).toBe(900);
  });

  it('gets a new session when the cached one would end before the URL', async () => {
    // Arrange
    const clock = { now: START };
    const { signer, issued } = signerWith(clock, 3_600);
    await signer.sign(OBJECT, 900);
    clock.now = new Date(START.getTime() + 50 * 60_000);

    // Act: 10 min left, a 15 min URL asked
    const signed = await signer.sign(OBJECT, 900);

    // Assert
    expect(issued).toHaveLength(2);
    expect(query(signed.url).get('X-Amz-Credential')).toMatch(/^ASIASESSION2\//);
    expect(signed.expiresInSeconds).toBe(900);
  });

  it('refuses with StorageUnavailable when even a new session would end within minutes', async () => {
    // Arrange: credentials that live two minutes
    const { signer } = signerWith({ now: START }, 120);

    // Act
    const error = await rejectionOf(signer.sign(OBJECT, 900));

    // Assert
    expect(error.name).toBe('StorageUnavailable');
  });

  it('reports a credential source that fails (STS throttling) as StorageUnavailable', async () => {
    // Arrange
    const signer = createAudioUrlSigner({
      credentials: async () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
      },
      clientFor: (credentials) => s3ClientLike(base, credentials),
    });

    // Act
    const error = await rejectionOf(signer.sign(OBJECT, 900));

    // Assert
    expect(error.name).toBe('StorageUnavailable');
    expect(error.message).not.toContain('Rate exceeded');
  });
});
