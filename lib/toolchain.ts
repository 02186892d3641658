import { NODE_MAJOR } from './node-version';

/**
 * The tool versions the pipeline's CodeBuild actions install, in one place.
 * They are pinned (never @latest) and equal to this repo's devDependencies, so
 * the rehearsal in `.ci/run` runs exactly what the pipeline will run
 * (test/toolchain.test.ts holds the two together).
 *
 * aws-cdk-lib is pinned at 2.273.0 because of the asset publisher: aws-cdk-lib
 * 2.274.0 and later write cloud-assembly schema 55, and cdk-assets 4.7.3 (npm's
 * latest) refuses anything above 54 ("Cloud assembly schema version mismatch").
 * Move both together; the rehearsal fails when the publisher cannot read the
 * assembly.
 */
export const TOOLCHAIN = {
  /** The Node.js major of every CodeBuild action: `.nvmrc`'s, as everywhere else. */
  nodeMajor: NODE_MAJOR,
  /** The aws-cdk CLI of the self-mutation action. */
  awsCdkCli: '2.1148.1',
  /** The asset publisher of the Assets actions. */
  cdkAssets: '4.7.3',
  /** cfn-lint (Python) of the Synth action. */
  cfnLint: '1.51.0',
} as const;
