/** `-c regions=…`: one stack per region, each with its own names and AssemblyAI endpoint. */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ASSEMBLYAI_BASE_URLS, loadRegionsConfig } from '../../cdk/config.js';
import { PROJECT_ROOT } from '../../cdk/paths.js';
import { configureApps } from '../../cdk/transcription-app.js';
import { type CfnTemplate, resourcesOfType, type ValidationReport } from './synth.js';

const CDK_JSON_CONTEXT = JSON.parse(readFileSync(`${PROJECT_ROOT}cdk.json`, 'utf8')).context as Record<
  string,
  unknown
>;

function synthAll(context: Record<string, unknown>) {
  const app = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context } });
  const stacks = configureApps(app, { account: '123456789012' });
  const assembly = app.synth();
  const report = JSON.parse(
    readFileSync(`${assembly.directory}/validation-report.json`, 'utf8'),
  ) as ValidationReport;
  return {
    report,
    stacks: stacks.map((stack) => ({
      stack,
      json: Template.fromStack(stack).toJSON() as CfnTemplate,
    })),
  };
}

function bucketNames(json: CfnTemplate): unknown[] {
  return resourcesOfType(json, 'AWS::S3::Bucket')
    .map(([, r]) => r.Properties.BucketName)
    .filter((name) => typeof name === 'string' && name.startsWith('wisevoice-transcription-'));
}

function baseUrls(json: CfnTemplate): Set<unknown> {
  const urls = new Set<unknown>();
  for (const [, fn] of resourcesOfType(json, 'AWS::Lambda::Function')) {
    const variables = (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables;
    if (variables && 'ASSEMBLYAI_BASE_URL' in variables) urls.add(variables.ASSEMBLYAI_BASE_URL);
  }
  return urls;
}

describe('regions', () => {
  const two = () => synthAll({ regions: 'eu-central-1,us-east-1' });
  let synthesized: ReturnType<typeof synthAll>;
  beforeAll(() => {
    synthesized = two();
  }, 120_000);

  it('synthesizes one stack per region, each in its region', () => {
    const { stacks } = synthesized;
    expect(stacks.map(({ stack }) => [stack.stackName, stack.region, stack.account])).toEqual([
      ['wisevoice-transcription-dev-eu-central-1', 'eu-central-1', '123456789012'],
      ['wisevoice-transcription-dev-us-east-1', 'us-east-1', '123456789012'],
    ]);
  });

  it('gives each region its own bucket name', () => {
    const [eu, us] = synthesized.stacks.map(({ json }) => bucketNames(json));
    expect(eu).toEqual(['wisevoice-transcription-dev-eu-central-1']);
    expect(us).toEqual(['wisevoice-transcription-dev-us-east-1']);
  });

  it('gives each region its own dashboard name (dashboard names are account-wide)', () => {
    const names = synthesized.stacks.map(({ json }) =>
      resourcesOfType(json, 'AWS::CloudWatch::Dashboard').map(([, r]) => r.Properties?.DashboardName),
    );
    expect(names).toEqual([
      ['wisevoice-transcription-dev-eu-central-1'],
      ['wisevoice-transcription-dev-us-east-1'],
    ]);
  });

  it('gives each region its own secret and alarm topic', () => {
    for (const { json } of synthesized.stacks) {
      expect(resourcesOfType(json, 'AWS::SecretsManager::Secret').length).toBeGreaterThan(0);
      expect(resourcesOfType(json, 'AWS::CloudWatch::Alarm').length).toBeGreaterThan(0);
    }
  });

  it('sends the EU stack to the EU endpoint and the US stack to the US one', () => {
    const [eu, us] = synthesized.stacks.map(({ json }) => baseUrls(json));
    expect([...(eu ?? [])]).toEqual([ASSEMBLYAI_BASE_URLS.eu]);
    expect([...(us ?? [])]).toEqual([ASSEMBLYAI_BASE_URLS.us]);
    expect(ASSEMBLYAI_BASE_URLS.eu).toBe('https://api.eu.assemblyai.com');
  });

  it('has no unacknowledged cdk-nag findings in any region', () => {
    for (const plugin of synthesized.report.pluginReports) {
      expect(plugin.violations).toEqual([]);
    }
  });

  it('lets an explicit assemblyaiRegion win over the region default', () => {
    const { stacks } = synthAll({ regions: 'eu-central-1,us-east-1', assemblyaiRegion: 'us' });
    for (const { json } of stacks) expect([...baseUrls(json)]).toEqual([ASSEMBLYAI_BASE_URLS.us]);
  }, 120_000);

  it("creates a VPC in each region, whose DNS firewall answers that region's AssemblyAI host", () => {
    const { stacks, report } = synthAll({ regions: 'eu-central-1,us-east-1', vpc: 'create' });
    const allowedHosts = stacks.map(({ json }) =>
      resourcesOfType(json, 'AWS::Route53Resolver::FirewallDomainList')
        .flatMap(([, r]) => r.Properties.Domains as unknown[])
        .filter((d) => typeof d === 'string' && d.endsWith('assemblyai.com')),
    );

    expect(stacks.map(({ json }) => resourcesOfType(json, 'AWS::EC2::VPC').length)).toEqual([1, 1]);
    expect(allowedHosts).toEqual([
      [new URL(ASSEMBLYAI_BASE_URLS.eu).hostname],
      [new URL(ASSEMBLYAI_BASE_URLS.us).hostname],
    ]);
    for (const plugin of report.pluginReports) expect(plugin.violations).toEqual([]);
  }, 120_000);

  it('keeps one stack with today’s names without regions', () => {
    const { stacks } = synthAll({});
    expect(stacks.map(({ stack }) => stack.stackName)).toEqual(['wisevoice-transcription-dev']);
    const [only] = stacks;
    expect(bucketNames(only?.json as CfnTemplate)).toEqual(['wisevoice-transcription-dev']);
    expect([...baseUrls(only?.json as CfnTemplate)]).toEqual([ASSEMBLYAI_BASE_URLS.us]);
  }, 120_000);
});

describe('loadRegionsConfig', () => {
  const load = (context: Record<string, unknown>) =>
    loadRegionsConfig({ tryGetContext: (key) => context[key] });

  it('is empty by default and reads a list', () => {
    expect(load({})).toEqual({ regions: [] });
    expect(load({ regions: ' eu-central-1 , us-east-1 ' })).toEqual({
      regions: ['eu-central-1', 'us-east-1'],
    });
    expect(load({ regions: ['eu-west-1'] })).toEqual({ regions: ['eu-west-1'] });
    expect(load({ regions: 'us-gov-west-1' })).toEqual({ regions: ['us-gov-west-1'] });
  });

  it.each(['eu-central', 'EU-CENTRAL-1', 'frankfurt', 'eu_central_1', 'eu-central-1a'])(
    'refuses %s',
    (region) => {
      expect(() => load({ regions: region })).toThrow(/Context "regions": .* is not an AWS region name/);
    },
  );

  it('refuses duplicates', () => {
    expect(() => load({ regions: 'eu-central-1,us-east-1,eu-central-1' })).toThrow(
      'Context "regions": "eu-central-1" is given twice',
    );
  });

  it('refuses single-region resources with several regions', () => {
    const regions = 'eu-central-1,us-east-1';
    expect(() => load({ regions, existingBucketName: 'my-bucket' })).toThrow(/"existingBucketName"/);
    expect(() =>
      load({ regions, existingSecretName: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:x' }),
    ).toThrow(/"existingSecretName"/);
    expect(load({ regions: 'eu-central-1', existingBucketName: 'my-bucket' })).toEqual({
      regions: ['eu-central-1'],
    });
  });

  it('stops the synth naming the key', () => {
    const app = new App({ context: { regions: 'eu-central-1,nowhere' } });
    expect(() => configureApps(app)).toThrow('Context "regions": "nowhere" is not an AWS region name');
  });
});
