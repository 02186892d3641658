import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // CDK synthesis and the integration tests start real processes: give them room.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: run files in parallel, but not more than the machine has.
    maxWorkers: 2,
    // A worker keeps its loaded modules from one test file to the next: aws-cdk-lib, the AWS SDK
    // and the app are loaded once per worker instead of once per file (about 45 s of the suite's
    // CPU). No test relies on a fresh module state: each builds its own App, servers and env.
    isolate: false,
    // As bin/app.ts: no built-in CloudFormation validation at synth (cfn-lint runs in CI).
    env: { CDK_VALIDATION: 'false' },
  },
});
