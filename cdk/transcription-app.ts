/**
 * Builds the app from context: the environment's stack (or one per region with `-c regions=…`)
 * plus the cdk-nag AwsSolutions checks, which fail the synth on any unacknowledged finding. Shared
 * by `app.ts` and the tests, so the tests check exactly what `cdk synth` produces.
 */
import { type App, type Environment, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadDeploymentConfig, loadRegionsConfig } from './config.js';
import { namePrefix, regionalName } from './naming.js';
import { TranscriptionStack } from './transcription-stack.js';

/**
 * Every stack of the app. Without `regions`: one, named `wisevoice-transcription-{environment}` in
 * `env`'s region (today's names, so existing deployments are unchanged). With `regions`: one per
 * region, `wisevoice-transcription-{environment}-{region}` with `env: { account, region }`, its
 * bucket name suffixed with the region (bucket names are global) and `assemblyaiRegion` defaulting
 * to the region's side (`eu-*` → `eu`). Each has its own bucket, secret, queues and alarms.
 */
export function configureApps(app: App, env?: Environment): TranscriptionStack[] {
  const { regions } = loadRegionsConfig(app.node);
  const stacks =
    regions.length === 0
      ? [addStack(app, namePrefix(loadDeploymentConfig(app.node).environment), env, undefined)]
      : regions.map((region) => {
          const config = loadDeploymentConfig(app.node, { stackRegion: region });
          return addStack(
            app,
            regionalName(namePrefix(config.environment), region, 'regions'),
            {
              account: env?.account,
              region,
            },
            region,
          );
        });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stacks;
}

/** The app's first (without `regions`, only) stack. */
export function configureApp(app: App, env?: Environment): TranscriptionStack {
  return configureApps(app, env)[0] as TranscriptionStack;
}

function addStack(
  app: App,
  id: string,
  env: Environment | undefined,
  region: string | undefined,
): TranscriptionStack {
  const loaded = loadDeploymentConfig(app.node, { stackRegion: region });
  const config =
    region === undefined ? loaded : { ...loaded, bucketName: regionalName(loaded.bucketName, region) };
  const stack = new TranscriptionStack(app, id, {
    config,
    env,
    description: `Audio transcription with speaker labels (Step Functions + Lambda + AssemblyAI), ${config.environment}${region ? `, ${region}` : ''}`,
  });
  Tags.of(stack).add('service', 'transcription');
  Tags.of(stack).add('environment', config.environment);
  return stack;
}
