import { App } from 'aws-cdk-lib';
import { defineApp } from '../lib/app';

// cfn-lint checks every template in CI and in the pipeline (aws-cdk-lib 2.273
// has no built-in CloudFormation validation).
const app = new App();

// The release being built: the pipeline's synth step passes the commit id.
// The synth does not sign: the guardrail's Sign step does, out of the commit's reach
// (pipeline/guardrail/README.md).
defineApp(app, process.env.RELEASE_VERSION ?? 'dev');
app.synth();
