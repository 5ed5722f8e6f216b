/**
 * Synthesizes the app the way `cdk synth` does (same `cdk.json` context, same cdk-nag plugin),
 * with Lambda bundling skipped unless asked for, and hands back the template, the cdk-nag report
 * and a few lookups the tests share.
 */
import { readFileSync } from 'node:fs';
import { App, type Environment, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { flattenReference, NAG_NAMESPACE } from '../../cdk/nag.js';
import { PROJECT_ROOT } from '../../cdk/paths.js';
import { configureApp } from '../../cdk/transcription-app.js';
import type { TranscriptionStack } from '../../cdk/transcription-stack.js';
import { STEP_NAMES } from '../../lambdas/shared/telemetry-names.js';

export interface Violation {
  ruleName: string;
  violatingConstructs: { constructPath: string }[];
  acknowledgedId?: string;
  reason?: string;
  acknowledgedAt?: string;
}

export interface ValidationReport {
  pluginReports: {
    pluginName: string;
    conclusion: string;
    violations: Violation[];
    suppressedViolations?: Violation[];
  }[];
}

export interface Synthesized {
  app: App;
  stack: TranscriptionStack;
  template: Template;
  json: CfnTemplate;
  report: ValidationReport;
  assemblyDirectory: string;
}

export interface CfnResource {
  Type: string;
  Properties: Record<string, unknown>;
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown }>;
  Parameters?: Record<string, unknown>;
}

const CDK_JSON_CONTEXT = JSON.parse(readFileSync(`${PROJECT_ROOT}cdk.json`, 'utf8')).context as Record<
  string,
  unknown
>;

const cache = new Map<string, Synthesized>();

export interface SynthOptions {
  bundle?: boolean;
  /** The stack's account and region, as `cdk` passes them from the CLI profile. @default - environment-agnostic */
  env?: Environment;
}

/**
 * Synthesizes with the given context on top of `cdk.json`'s; throws what `cdk synth` would.
 * Results are shared within a test file, since tests only read them.
 */
export function synth(context: Record<string, unknown> = {}, options: SynthOptions = {}): Synthesized {
  const key = JSON.stringify({ context, bundle: options.bundle ?? false, env: options.env });
  const cached = cache.get(key) ?? synthesize(context, options);
  cache.set(key, cached);
  return cached;
}

function synthesize(context: Record<string, unknown>, options: SynthOptions): Synthesized {
  const app = new App({
    context: {
      ...CDK_JSON_CONTEXT,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...context,
    },
  });
  const stack = configureApp(app, options.env);
  const assembly = app.synth();
  const report = JSON.parse(
    readFileSync(`${assembly.directory}/validation-report.json`, 'utf8'),
  ) as ValidationReport;
  const template = Template.fromStack(stack);
  return {
    app,
    stack,
    template,
    json: template.toJSON() as CfnTemplate,
    report,
    assemblyDirectory: assembly.directory,
  };
}

/** Resources of one type, by logical id. */
export function resourcesOfType(json: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(json.Resources).filter(([, r]) => r.Type === type);
}

/** The logical id of the only resource of `type` that matches `predicate`. */
export function logicalId(
  json: CfnTemplate,
  type: string,
  predicate: (r: CfnResource) => boolean = () => true,
) {
  const matches = resourcesOfType(json, type).filter(([, r]) => predicate(r));
  if (matches.length !== 1) throw new Error(`Expected one ${type}, found ${matches.length}`);
  return (matches[0] as [string, CfnResource])[0];
}

/** The six steps of the ASL file, in workflow order. */
export const STEPS = STEP_NAMES;

/** `AWS::Lambda::Function` resources keyed by their step (the function name ends with it). */
export function functionsByStep(json: CfnTemplate): Record<string, { id: string; resource: CfnResource }> {
  const result: Record<string, { id: string; resource: CfnResource }> = {};
  for (const [id, resource] of resourcesOfType(json, 'AWS::Lambda::Function')) {
    const step = STEPS.find((s) => String(resource.Properties.FunctionName).endsWith(`-${s}`));
    if (step) result[step] = { id, resource };
  }
  return result;
}

/** The `AWS::Lambda::Function` with this `FunctionName`, when the template has one. */
export function functionNamed(
  json: CfnTemplate,
  name: string,
): { id: string; props: Record<string, unknown> } | undefined {
  const match = resourcesOfType(json, 'AWS::Lambda::Function').find(
    ([, r]) => r.Properties.FunctionName === name,
  );
  return match && { id: match[0], props: match[1].Properties };
}

/** The logical id of a function's role, from the function's properties. */
export function roleOf(props: Record<string, unknown>): string {
  return (props.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
}

/** The function of one step; throws when the template has none. */
export function functionOf(json: CfnTemplate, step: string): { id: string; props: Record<string, unknown> } {
  const fn = functionsByStep(json)[step];
  if (!fn) throw new Error(`No function for ${step}`);
  return { id: fn.id, props: fn.resource.Properties };
}

/**
 * The permissions a role has, as sorted `action resource` lines, resources flattened the way
 * cdk-nag prints them and logical ids replaced by the names in `aliases`.
 */
export function permissionsOf(json: CfnTemplate, roleId: string, aliases: Record<string, string>): string[] {
  const lines = new Set<string>();
  for (const [, policy] of resourcesOfType(json, 'AWS::IAM::Policy')) {
    const roles = (policy.Properties.Roles as { Ref: string }[]).map((r) => r.Ref);
    if (!roles.includes(roleId)) continue;
    const document = policy.Properties.PolicyDocument as { Statement: Statement[] };
    for (const line of statementLines(document.Statement, aliases)) lines.add(line);
  }
  return [...lines].sort();
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

export function statementLines(statements: Statement[], aliases: Record<string, string>): string[] {
  const lines: string[] = [];
  for (const statement of statements) {
    if (statement.Effect !== 'Allow') throw new Error(`Unexpected ${statement.Effect} statement`);
    const actions = ([] as string[]).concat(statement.Action);
    const resources = ([] as unknown[]).concat(statement.Resource);
    for (const action of actions) {
      for (const resource of resources) {
        let flat = flattenReference(resource);
        for (const [id, alias] of Object.entries(aliases)) flat = flat.split(id).join(alias);
        const condition = statement.Condition
          ? ` if ${JSON.stringify(flattenDeep(statement.Condition))}`
          : '';
        lines.push(`${action} ${flat}${condition}`);
      }
    }
  }
  return lines.sort();
}

/** Flattens every CloudFormation reference inside a JSON value (for conditions). */
function flattenDeep(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(flattenDeep);
  const keys = Object.keys(value);
  if (keys.some((k) => k === 'Ref' || k.startsWith('Fn::'))) return flattenReference(value);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, flattenDeep(v)]));
}

/** The cdk-nag AwsSolutions report of a synth; throws when cdk-nag did not run. */
export function nagReport(s: Synthesized) {
  const report = s.report.pluginReports.find((r) => r.pluginName === 'AwsSolutions');
  if (!report) throw new Error('cdk-nag did not report');
  return report;
}

/**
 * `(path) id` of every cdk-nag acknowledgement recorded on a construct, as the report's
 * `(acknowledgedAt) acknowledgedId` names it. CDK records CloudFormation-Validate acknowledgements
 * of its own on some constructs (a VPC's flow log, a looked-up VPC's literal AZs): not cdk-nag's.
 */
export function recordedAcknowledgements(app: App): string[] {
  return app.node
    .findAll()
    .flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) => Object.keys(m.data as Record<string, string>).map((id) => `(${c.node.path}) ${id}`)),
    )
    .filter((a) => a.includes(` ${NAG_NAMESPACE}::`));
}
