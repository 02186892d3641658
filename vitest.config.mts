import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // CDK synthesis and the integration tests start real processes: give them room.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One worker more than the machine has cores: much of the suite waits on the processes it
    // starts (services, CLIs, synths), and a third file runs in those waits. On the 2-core
    // development machine, 3 workers took 73 s where 2 took 76-80 s (alternating runs).
    maxWorkers: availableParallelism() + 1,
    // A worker keeps its loaded modules from one test file to the next: aws-cdk-lib, the AWS SDK
    // and the app are loaded once per worker instead of once per file (about 45 s of the suite's
    // CPU). No test relies on a fresh module state: each builds its own App, servers and env.
    isolate: false,
    // As bin/app.ts: no built-in CloudFormation validation at synth (cfn-lint runs in CI).
    env: { CDK_VALIDATION: 'false' },
  },
});
