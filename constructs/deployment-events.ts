import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { AlarmTopic } from './alarm-topic';

/** A service whose deployments the operator is told about. */
export interface DeploymentEventsService {
  /** The service. */
  readonly service: ecs.BaseService;
  /** How the message names it, e.g. `API (api-id6pe9zboa)`. */
  readonly name: string;
}

/** Properties of {@link DeploymentEvents}. */
export interface DeploymentEventsProps {
  /** The stage's alarm topic: the messages go where the alarms go. */
  readonly topic: AlarmTopic;
  /** How the messages name the stage, e.g. `br-fagq2-production`. */
  readonly stageLabel: string;
  /** The services whose deployments are reported. */
  readonly services: readonly DeploymentEventsService[];
}

/** The outcomes of a service deployment the operator is told, and the ECS events that say them. */
export const DEPLOYMENT_OUTCOMES = {
  completed: {
    label: 'completed',
    detail: { eventName: ['SERVICE_DEPLOYMENT_COMPLETED'] },
    says: 'completed: the service runs that deployment\'s revision (after a FAILED message, this is the rollback completing)',
  },
  failed: {
    label: 'failed',
    detail: { eventName: ['SERVICE_DEPLOYMENT_FAILED'] },
    says: 'FAILED (a deployment alarm, the circuit breaker or a lifecycle hook stopped it; ECS rolls back to the previous revision, which keeps serving)',
  },
  rollingBack: {
    label: 'rolling back',
    detail: { eventName: ['SERVICE_DEPLOYMENT_IN_PROGRESS'], reason: [{ wildcard: '*rolling back*' }] },
    says: 'is ROLLING BACK to the previous revision',
  },
} as const;

/**
 * Tells the operator what ECS did with each release of the stage's services: an EventBridge rule
 * per service and outcome on ECS's "ECS Deployment State Change" events publishes a readable
 * message to the stage's alarm topic, quoting the reason ECS gives.
 *
 * The events (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_deployment_events.html):
 * source `aws.ecs`, the service's ARN in `resources`, and in `detail` an `eventName`
 * (SERVICE_DEPLOYMENT_IN_PROGRESS, _COMPLETED, _FAILED), the `deploymentId` and the `reason`.
 * A rollback starts as an IN_PROGRESS event whose reason says "rolling back to" the earlier
 * deployment; FAILED is sent when a deployment alarm fires or the circuit breaker stops it
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_events.html).
 */
export class DeploymentEvents extends Construct {
  /** The rules, by service name and outcome. */
  public readonly rules: events.Rule[] = [];

  constructor(scope: Construct, id: string, props: DeploymentEventsProps) {
    super(scope, id);
    props.topic.allowPublishing('events.amazonaws.com', 'EventBridgeDeploymentEventsPublish');
    const field = (path: string) => events.EventField.fromPath(path);
    props.services.forEach(({ service, name }, index) => {
      for (const [outcome, { label, detail, says }] of Object.entries(DEPLOYMENT_OUTCOMES)) {
        const rule = new events.Rule(this, `${index}-${outcome}`, {
          description: `${props.stageLabel}: ${name} deployment ${label} (ECS Deployment State Change) to the alarm topic`,
          eventPattern: {
            source: ['aws.ecs'],
            detailType: ['ECS Deployment State Change'],
            resources: [service.serviceArn],
            detail,
          },
        });
        rule.addTarget(
          new targets.SnsTopic(props.topic.topic, {
            message: events.RuleTargetInput.fromText(
              `${props.stageLabel}: the ${name} deployment ${field('$.detail.deploymentId')} ${says}. ` +
                `ECS says: ${field('$.detail.reason')} (service ${field('$.resources[0]')}, ${field('$.time')}).`,
            ),
          }),
        );
        this.rules.push(rule);
      }
    });
  }
}
