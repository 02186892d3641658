import { App } from 'aws-cdk-lib';
import { defineApp } from '../lib/app';
import { resolveGuardrailToken, writeAttestation } from '../pipeline/guardrail';

// aws-cdk-lib's built-in CloudFormation validation more than doubles the synth
// time (measured by bench/synth); cfn-lint checks every template in CI and in
// the pipeline instead. CDK_VALIDATION=true turns it back on for one run.
const app = new App({ builtinCloudFormationValidation: process.env.CDK_VALIDATION === 'true' });
// Fail before building anything when the guardrail token is missing or malformed.
const guardrailToken = resolveGuardrailToken({ env: process.env, context: (key) => app.node.tryGetContext(key) });

// The release being built: the pipeline's synth step passes the commit id.
defineApp(app, process.env.RELEASE_VERSION ?? 'dev');
app.synth();
// guardrail: sign the assembly (every template and asset each stage deploys)
writeAttestation(app.outdir, guardrailToken);
