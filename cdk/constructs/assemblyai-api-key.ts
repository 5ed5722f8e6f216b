/**
 * Where the AssemblyAI API key lives: a Secrets Manager secret the stack creates (its value is set
 * after deploy with `put-secret-value`) or an existing one. The key itself never passes through
 * CDK, CloudFormation or an environment variable; the Lambdas get only the secret's id and read
 * the value at run time.
 */
import { Arn, ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { secretReadStatements } from '../key-use.js';
import { acknowledge } from '../nag.js';

export interface AssemblyAiApiKeyProps {
  /** Name of the secret to create. */
  secretName: string;
  /** Use this existing secret (name or complete ARN) instead of creating one. @default - create `secretName` */
  existingSecretName?: string;
  /** Encrypt a created secret with this key (and let readers decrypt with it); ignored for an existing secret. @default - the account's `aws/secretsmanager` key */
  encryptionKey?: IKey;
  /** What happens to a created secret when the stack is deleted. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  removalPolicy?: RemovalPolicy;
}

export class AssemblyAiApiKey extends Construct {
  readonly secret: ISecret;
  /** The value for `ASSEMBLYAI_API_KEY_SECRET_ID`: the ARN, or the name for a secret referenced by name. */
  readonly secretId: string;
  /** The IAM resource that matches the secret: its ARN, or `…:secret:{name}-??????` for one referenced by name. */
  readonly policyResource: string;
  private readonly encryptionKey?: IKey;

  constructor(scope: Construct, id: string, props: AssemblyAiApiKeyProps) {
    super(scope, id);
    const existing = props.existingSecretName;
    // An existing secret keeps its own key; the stack only knows (and grants) the one it encrypts with.
    this.encryptionKey = existing ? undefined : props.encryptionKey;
    if (existing?.startsWith('arn:')) {
      this.secret = Secret.fromSecretCompleteArn(this, 'Secret', existing);
      this.secretId = existing;
      this.policyResource = existing;
    } else if (existing) {
      this.secret = Secret.fromSecretNameV2(this, 'Secret', existing);
      this.secretId = existing;
      // Secrets Manager appends six random characters to every secret ARN.
      this.policyResource = Arn.format(
        {
          service: 'secretsmanager',
          resource: 'secret',
          resourceName: `${existing}-??????`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        },
        Stack.of(this),
      );
    } else {
      const secret = new Secret(this, 'Secret', {
        secretName: props.secretName,
        description:
          'AssemblyAI API key (the plain key string) for the transcription workflow. Set it with `aws secretsmanager put-secret-value`; the generated placeholder is not a key.',
        encryptionKey: props.encryptionKey,
        removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      });
      acknowledge(
        secret,
        'AwsSolutions-SMG4',
        'The value is an API key issued in the AssemblyAI dashboard; there is no API a rotation Lambda could call to mint a new one. Rotate by creating a key at AssemblyAI and running put-secret-value; the Lambdas pick it up within 5 minutes (Powertools cache).',
      );
      this.secret = secret;
      this.secretId = secret.secretArn;
      this.policyResource = secret.secretArn;
    }
  }

  /** `secretsmanager:GetSecretValue` on this secret only, plus decrypt through Secrets Manager when it uses our key. */
  readStatements(): PolicyStatement[] {
    return secretReadStatements(this, this.policyResource, this.encryptionKey);
  }
}
