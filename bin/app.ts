import { App } from 'aws-cdk-lib';
import { defineApp } from '../lib/app';
import { resolveGuardrailToken, writeAttestation } from '../pipeline/guardrail';

// cfn-lint checks every template in CI and in the pipeline (aws-cdk-lib 2.273
// has no built-in CloudFormation validation).
const app = new App();
// Fail before building anything when the guardrail token is missing or malformed.
const guardrailToken = resolveGuardrailToken({ env: process.env, context: (key) => app.node.tryGetContext(key) });

// The release being built: the pipeline's synth step passes the commit id.
defineApp(app, process.env.RELEASE_VERSION ?? 'dev');
app.synth();
// guardrail: sign the assembly (every template and asset each stage deploys)
writeAttestation(app.outdir, guardrailToken);
