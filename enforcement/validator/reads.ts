// What the validator reads from AWS, behind interfaces: aws-reads.ts implements them with the
// SDK (staging through its read role, production with the function's own role); the tests
// fake them in process. Every method throws when it cannot read: the validator then fails closed.

/** An ECS service of a deployed staging stack, as ListStackResources names it. */
export interface DeployedService {
  /** The service's logical id in the stack's template. */
  readonly logicalId: string;
  /** The service ARN (the physical id of an AWS::ECS::Service). */
  readonly serviceArn: string;
}

/** The image a container of a service revision runs. */
export interface RunningImage {
  readonly containerName: string;
  /** The image as the task definition names it (repository and tag). */
  readonly image: string;
  /** `sha256:<64 hex>`: the digest ECS resolved the image to. */
  readonly imageDigest: string;
}

/** What staging runs, read through the staging read role. */
export interface StagingReads {
  /** The template the stack was deployed with (GetTemplate, TemplateStage Original); undefined when the stack does not exist. */
  deployedTemplate(stackName: string, region: string): Promise<string | undefined>;
  /** The stack's ECS services. */
  services(stackName: string, region: string): Promise<DeployedService[]>;
  /**
   * The images a service runs: the target revision of its latest service deployment,
   * which must have completed (SUCCESSFUL); throws otherwise.
   */
  runningImages(serviceArn: string, region: string): Promise<RunningImage[]>;
}

/** What production holds, read with the validator's own role in the production account. */
export interface ProductionReads {
  /** The digest (`sha256:<hex>`) of `repository:tag` in production's registry; undefined when no image has the tag. */
  imageDigest(repository: string, tag: string, region: string): Promise<string | undefined>;
  /** The SHA-256 (hex) of an object's content; undefined when there is no such object. */
  objectSha256(bucket: string, key: string, region: string): Promise<string | undefined>;
}

/** Where the validator writes the signed envelope (the attestation bucket). */
export interface AttestationStore {
  put(key: string, body: Buffer): Promise<void>;
}
