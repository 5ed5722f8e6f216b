/**
 * "Release provisioned concurrency" (`-c provisionedConcurrency=…`, issue 11 part 3). The state
 * machine invokes published versions, and each deploy that changes a step's code publishes a new
 * version with its own provisioned concurrency. The old version is retained for the executions
 * still running on it, and CloudFormation leaves a retained resource as it is, concurrency
 * included, so without this every deploy would add N more billed environments per step.
 *
 * After a deploy (and once a day, as a backstop) this removes provisioned concurrency from every
 * numbered version of the provisioned functions that the deployed definition no longer names. The
 * version itself stays: an execution started before the deploy still invokes it, on demand (a
 * cold start at worst). What is kept is read from the definition Step Functions holds now, never
 * from the template, so a rolled-back deploy keeps what it rolled back to; and nothing runs while
 * the stack is changing. No library does this: Lambda's API has no "keep only these" call and
 * CloudFormation never revisits a retained resource.
 */
import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DeleteProvisionedConcurrencyConfigCommand,
  type LambdaClient,
  paginateListProvisionedConcurrencyConfigs,
} from '@aws-sdk/client-lambda';
import { DescribeStateMachineCommand, type SFNClient } from '@aws-sdk/client-sfn';

/** Stack states in which the deployed definition is the one that stays: nothing is changing. */
export const SETTLED_STACK_STATUSES: ReadonlySet<string> = new Set([
  'CREATE_COMPLETE',
  'UPDATE_COMPLETE',
  'UPDATE_ROLLBACK_COMPLETE',
  'IMPORT_COMPLETE',
  'IMPORT_ROLLBACK_COMPLETE',
]);

export interface ReleaseDeps {
  lambda: LambdaClient;
  sfn: SFNClient;
  cloudformation: CloudFormationClient;
  /** This deployment's stack (its ARN or name). */
  stackName: string;
  stateMachineArn: string;
  /** The functions that get provisioned concurrency, by name. */
  functionNames: readonly string[];
}

/** What one run did, by function name and version number only. */
export interface ReleaseSummary {
  /** `stack-busy`: the stack was not settled, so nothing was touched (the next run does it). */
  outcome: 'done' | 'stack-busy';
  stack_status?: string;
  /** `function:version` still named by the definition. */
  kept: string[];
  /** `function:version` whose provisioned concurrency was removed now. */
  released: string[];
  /** Removal refused (throttled, a configuration still being allocated): tried again next run. */
  failed: { version: string; error_type: string }[];
  /** Functions of which the definition names no version: left untouched, never emptied. */
  unnamed_functions: string[];
  /** Provisioned concurrency on an alias (never this stack's): left as it is. */
  aliases_left: string[];
}

const VERSION_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:([A-Za-z0-9_-]+):(\d+)$/;

/**
 * Every `function → versions` a definition invokes: each string in it that is a function ARN with
 * a version number (the `FunctionName` of a `lambda:invoke` task or a task's `Resource`).
 */
export function versionsNamedBy(definition: string): Map<string, Set<string>> {
  const named = new Map<string, Set<string>>();
  const visit = (value: unknown): void => {
    if (typeof value === 'string') {
      const match = VERSION_ARN.exec(value);
      if (match) {
        const [, fn, version] = match as unknown as [string, string, string];
        const versions = named.get(fn) ?? new Set<string>();
        versions.add(version);
        named.set(fn, versions);
      }
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item);
    } else if (value && typeof value === 'object') {
      for (const item of Object.values(value)) visit(item);
    }
  };
  visit(JSON.parse(definition));
  return named;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

export async function releaseProvisionedConcurrency(deps: ReleaseDeps): Promise<ReleaseSummary> {
  const summary: ReleaseSummary = {
    outcome: 'done',
    kept: [],
    released: [],
    failed: [],
    unnamed_functions: [],
    aliases_left: [],
  };
  const stacks = await deps.cloudformation.send(new DescribeStacksCommand({ StackName: deps.stackName }));
  summary.stack_status = stacks.Stacks?.[0]?.StackStatus;
  if (!summary.stack_status || !SETTLED_STACK_STATUSES.has(summary.stack_status)) {
    return { ...summary, outcome: 'stack-busy' };
  }

  const machine = await deps.sfn.send(
    new DescribeStateMachineCommand({ stateMachineArn: deps.stateMachineArn }),
  );
  const named = versionsNamedBy(machine.definition ?? '{}');

  for (const functionName of deps.functionNames) {
    const keep = named.get(functionName);
    if (!keep || keep.size === 0) {
      summary.unnamed_functions.push(functionName);
      continue;
    }
    const pages = paginateListProvisionedConcurrencyConfigs(
      { client: deps.lambda },
      { FunctionName: functionName },
    );
    for await (const page of pages) {
      for (const config of page.ProvisionedConcurrencyConfigs ?? []) {
        const qualifier = config.FunctionArn?.split(':').at(-1) ?? '';
        const version = `${functionName}:${qualifier}`;
        if (!/^\d+$/.test(qualifier)) {
          summary.aliases_left.push(version);
        } else if (keep.has(qualifier)) {
          summary.kept.push(version);
        } else {
          await release(deps.lambda, functionName, qualifier, version, summary);
        }
      }
    }
  }
  return summary;
}

async function release(
  lambda: LambdaClient,
  functionName: string,
  qualifier: string,
  version: string,
  summary: ReleaseSummary,
): Promise<void> {
  try {
    await lambda.send(
      new DeleteProvisionedConcurrencyConfigCommand({ FunctionName: functionName, Qualifier: qualifier }),
    );
    summary.released.push(version);
  } catch (error) {
    // Gone between the list and the delete (another run, an operator): what was wanted.
    if (errorName(error) === 'ResourceNotFoundException') summary.released.push(version);
    else summary.failed.push({ version, error_type: errorName(error) });
  }
}
