/**
 * CDK entry point (`cdk.json`: `npx tsx cdk/app.ts`). One stack per `-c environment=…`; the
 * account and region come from the CLI's profile, and synth needs neither.
 */
import { App } from 'aws-cdk-lib';
import { configureApp } from './transcription-app.js';

configureApp(new App(), { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION });
