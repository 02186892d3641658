import { Tags } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** The project's name and its tiers' ids: they name constructs, tags and dashboards. */
export const PROJECT = 'br-fagq2';

export const TIER_IDS = {
  edge: 'edge-tc9rbe2m6',
  api: 'api-id6pe9zboa',
  worker: 'worker-sskbsaup',
} as const;

/**
 * Resource types left untagged: aws-cdk-lib tags them, but the CloudFormation
 * schemas of cfn-lint 1.51 (our external validator) reject Tags on them.
 */
const UNTAGGED_TYPES = [
  'AWS::ApplicationAutoScaling::ScalableTarget',
  'AWS::CloudWatch::Dashboard',
  'AWS::ElasticLoadBalancingV2::Listener',
  'AWS::ElasticLoadBalancingV2::ListenerRule',
];

/** Tags every taggable resource under `scope`. */
export function tag(scope: IConstruct, key: string, value: string): void {
  Tags.of(scope).add(key, value, { excludeResourceTypes: UNTAGGED_TYPES });
}
