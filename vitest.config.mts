import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // CDK synthesis and the integration tests start real processes: give them room.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: run files in parallel, but not more than the machine has.
    maxWorkers: 2,
    // As bin/app.ts: no built-in CloudFormation validation at synth (cfn-lint runs in CI).
    env: { CDK_VALIDATION: 'false' },
  },
});
