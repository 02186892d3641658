import { App } from 'aws-cdk-lib';
import { defineApp } from '../lib/app';
import { appProps } from '../lib/app-props';

// aws-cdk-lib's built-in CloudFormation validation roughly doubles the synth
// (bench/synth); cfn-lint checks every template in CI and in the pipeline
// instead. aws-cdk-lib 2.273 reads the switch from the environment at synth:
// CDK_VALIDATION=true turns it back on for one run.
process.env.CDK_VALIDATION ??= 'false';
const app = new App(appProps());

// The release being built: the pipeline's synth step passes the commit id.
// The synth does not sign: the guardrail's Sign step does, out of the commit's reach
// (pipeline/guardrail/README.md).
defineApp(app, process.env.RELEASE_VERSION ?? 'dev');
app.synth();
