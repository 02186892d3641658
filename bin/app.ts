import { App } from 'aws-cdk-lib';
import { addComplianceChecks } from '../lib/compliance';
import { loadConfig } from '../lib/config';
import { DataProductStage } from '../lib/stage';
import { resolveGuardrailToken, writeAttestation } from '../lib/guardrail';

const app = new App();
const config = loadConfig(app.node.getAllContext());
// The release being built: CodeBuild's commit id in the pipeline, "dev" elsewhere.
const appVersion = process.env.CODEBUILD_RESOLVED_SOURCE_VERSION ?? 'dev';

new DataProductStage(app, 'Staging', { settings: config.staging, appVersion });
new DataProductStage(app, 'Production', { settings: config.production, appVersion });

addComplianceChecks(app);
app.synth();
// guardrail: sign the assembly
writeAttestation(app.outdir, resolveGuardrailToken({ env: process.env, context: (key) => app.node.tryGetContext(key) }));
