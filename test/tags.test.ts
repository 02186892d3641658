// Cost per tier (issue 21): every taggable resource of every stage stack carries `project`, `stage`
// and `tier`. A resource type is taggable when aws-cdk-lib's L1 class for it manages tags
// (TagManager.isTaggable / isTaggableV2: the L1 has a `Tags` property, generated from the
// CloudFormation resource specification). The types tiers.ts leaves untagged are the only exception.
import { Stack, TagManager, CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT, TIER_IDS } from '../lib/tiers';
import { buildStages, type BuiltStages } from './support/app';

const TIERS = new Set<string>([...Object.values(TIER_IDS), 'shared']);
/** tiers.ts: aws-cdk-lib tags them, but cfn-lint's schemas reject Tags on them. */
const UNTAGGED = new Set(['AWS::ApplicationAutoScaling::ScalableTarget', 'AWS::CloudWatch::Dashboard', 'AWS::ElasticLoadBalancingV2::Listener', 'AWS::ElasticLoadBalancingV2::ListenerRule']);

let stages: BuiltStages;
beforeAll(() => {
  stages = buildStages();
});

/** A template's Tags, in either of CloudFormation's two shapes (a list of Key/Value, or a map). */
function tagsOf(properties: Record<string, unknown> | undefined): Record<string, string> {
  const tags = properties?.Tags;
  if (Array.isArray(tags)) return Object.fromEntries(tags.map((t: { Key: string; Value: string }) => [t.Key, t.Value]));
  return (tags as Record<string, string> | undefined) ?? {};
}

function taggableResources(stack: Stack) {
  // Synthesized (Tags are applied by an aspect at synth).
  const template = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
  return stack.node
    .findAll()
    .filter((c): c is CfnResource => CfnResource.isCfnResource(c) && (TagManager.isTaggable(c) || TagManager.isTaggableV2(c)))
    .map((resource) => {
      const logicalId = stack.resolve(resource.logicalId) as string;
      return { path: resource.node.path, type: resource.cfnResourceType, tags: tagsOf(template.Resources[logicalId]?.Properties) };
    });
}

describe('cost allocation tags', () => {
  for (const stageName of ['staging', 'production'] as const) {
    it(`${stageName}: every taggable resource of both stacks has project, stage and a tier (edge, api, worker or shared)`, () => {
      const stage = stages[stageName];
      const missing: string[] = [];
      let checked = 0;
      for (const stack of [stage.tiersStack, stage.edgeWafStack]) {
        for (const { path, type, tags } of taggableResources(stack)) {
          if (UNTAGGED.has(type)) continue;
          checked += 1;
          if (tags.project !== PROJECT || tags.stage !== stageName || !TIERS.has(tags.tier)) missing.push(`${path} (${type}): ${JSON.stringify(tags)}`);
        }
      }
      expect(missing).toEqual([]);
      expect(checked).toBeGreaterThan(50);
    });
  }

  it('attributes the shared resources named in issue 21 to `shared`, and each tier to its own id', () => {
    const byType = new Map<string, Set<string>>();
    for (const { type, tags } of taggableResources(stages.production.tiersStack)) {
      byType.set(type, (byType.get(type) ?? new Set()).add(tags.tier));
    }
    for (const type of ['AWS::EC2::VPCEndpoint', 'AWS::ECS::Cluster', 'AWS::DynamoDB::Table', 'AWS::KMS::Key', 'AWS::EC2::VPC']) {
      expect([...(byType.get(type) ?? [])], type).toEqual(['shared']);
    }
    expect(byType.get('AWS::S3::Bucket')).toEqual(new Set(['shared']));
    expect(byType.get('AWS::CloudFront::Distribution')).toEqual(new Set([TIER_IDS.edge]));
    expect(byType.get('AWS::SQS::Queue')).toEqual(new Set([TIER_IDS.worker]));
    expect(byType.get('AWS::ElasticLoadBalancingV2::LoadBalancer')).toEqual(new Set([TIER_IDS.api]));
  });
});
