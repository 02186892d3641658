import { App } from 'aws-cdk-lib';
import { defineApp } from '../lib/app';
import { appProps } from '../lib/app-props';
import { ConfigError } from '../lib/config';

// aws-cdk-lib's built-in CloudFormation validation roughly doubles the synth
// (bench/synth); cfn-lint checks every template in CI and in the pipeline
// instead. aws-cdk-lib 2.273 reads the switch from the environment at synth:
// CDK_VALIDATION=true turns it back on for one run.
process.env.CDK_VALIDATION ??= 'false';
const app = new App(appProps());

// The release being built: the pipeline's synth step passes the commit id.
// The synth does not sign: only the guardrail's validator in the production account does
// (docs/enforcement.md).
try {
  defineApp(app, process.env.RELEASE_VERSION ?? 'dev');
} catch (error) {
  // A configuration mistake is the user's to fix: the message names every bad key; a stack trace
  // would only bury it (the CDK CLI prints the app's stderr as it is).
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
app.synth();
