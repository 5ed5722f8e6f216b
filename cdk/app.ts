/**
 * CDK entry point (`cdk.json`: `npx tsx cdk/app.ts`). One stack per `-c environment=…` in the
 * CLI profile's region, or one per region with `-c regions=eu-central-1,us-east-1`; the account
 * comes from the CLI's profile, and synth needs neither.
 */
import { App } from 'aws-cdk-lib';
import { configureApps } from './transcription-app.js';

configureApps(new App(), {
  account: process.env.CDK_DEFAULT_ACCOUNT,
  region: process.env.CDK_DEFAULT_REGION,
});
