/**
 * cdk-nag acknowledgements that name the exact finding. cdk-nag 3 reports each wildcard of an IAM
 * policy as its own finding (`AwsSolutions-IAM5[Resource::<Bucket.Arn>/work/*]`) and has no prefix
 * match, so the finding id is computed here the way cdk-nag flattens CloudFormation references;
 * if the two ever disagree, the nag test fails instead of a finding being silently hidden.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/** cdk-nag's rule namespace: `AwsSolutions::<rule>` makes CDK record the acknowledgement and its reason in `validation-report.json`. */
export const NAG_NAMESPACE = 'AwsSolutions';

/** Acknowledges one cdk-nag finding (`AwsSolutions-S1`, `AwsSolutions-IAM5[Resource::*]`) on `scope` and everything under it. */
export function acknowledge(scope: IConstruct, finding: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `${NAG_NAMESPACE}::${finding}`, reason });
}

/** The textual form cdk-nag gives a resolved CloudFormation value in finding ids. */
export function flattenReference(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/}/g, '>');
  const node = value as Record<string, unknown>;
  if (node['Fn::Join']) {
    const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
    return items.map(flattenReference).join(delimiter);
  }
  if (node['Fn::Sub']) return flattenReference(node['Fn::Sub']);
  if (node['Fn::GetAtt']) {
    const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
    return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
  }
  if (node['Fn::ImportValue']) return flattenReference(node['Fn::ImportValue']);
  if (node.Ref) return `<${flattenReference(node.Ref)}>`;
  return JSON.stringify(value);
}

/**
 * Acknowledges AwsSolutions-IAM5 for every wildcard resource of `statement`, on `scope` (which
 * must contain the policy), with one reason that says why the wildcard is the narrowest option.
 */
export function acknowledgeWildcardResources(
  scope: IConstruct,
  statement: PolicyStatement,
  reason: string,
): void {
  const stack = Stack.of(scope);
  for (const resource of statement.resources) {
    const flat = flattenReference(stack.resolve(resource));
    if (flat.includes('*')) {
      acknowledge(scope, `AwsSolutions-IAM5[Resource::${flat}]`, reason);
    }
  }
}

/** True when any resource of the statement holds a wildcard (before resolution of tokens). */
export function hasWildcardResource(scope: IConstruct, statement: PolicyStatement): boolean {
  const stack = Stack.of(scope);
  return statement.resources.some((resource) => flattenReference(stack.resolve(resource)).includes('*'));
}
