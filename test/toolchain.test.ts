import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TOOLCHAIN } from '../lib/toolchain';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));

describe('toolchain pins', () => {
  it('installs here exactly the CLI and asset publisher versions the pipeline installs', () => {
    expect(pkg.devDependencies['aws-cdk']).toBe(TOOLCHAIN.awsCdkCli);
    expect(pkg.devDependencies['cdk-assets']).toBe(TOOLCHAIN.cdkAssets);
  });

  it('pins aws-cdk-lib exactly (its cloud-assembly schema decides which publisher can read the assembly)', () => {
    expect(pkg.dependencies['aws-cdk-lib']).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
