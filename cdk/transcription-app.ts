/**
 * Builds the app from context: the environment's stack plus the cdk-nag AwsSolutions checks, which
 * fail the synth on any unacknowledged finding. Shared by `app.ts` and the tests, so the tests
 * check exactly what `cdk synth` produces.
 */
import { type App, type Environment, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadDeploymentConfig } from './config.js';
import { namePrefix } from './naming.js';
import { TranscriptionStack } from './transcription-stack.js';

export function configureApp(app: App, env?: Environment): TranscriptionStack {
  const config = loadDeploymentConfig(app.node);
  const stack = new TranscriptionStack(app, namePrefix(config.environment), {
    config,
    env,
    description: `Audio transcription with speaker labels (Step Functions + Lambda + AssemblyAI), ${config.environment}`,
  });
  Tags.of(stack).add('service', 'transcription');
  Tags.of(stack).add('environment', config.environment);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
