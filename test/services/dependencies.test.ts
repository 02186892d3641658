// Each service is its own Docker build context with its own package.json and lock file, while the
// root package.json installs the same packages for the tests: the versions must not drift apart.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers';

interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const readJson = (...path: string[]) => JSON.parse(readFileSync(join(REPO_ROOT, ...path), 'utf8'));
const root: PackageJson = readJson('package.json');
const rootVersions = { ...root.dependencies, ...root.devDependencies };

describe.each(['api', 'worker'])('services/%s', (service) => {
  const pkg: PackageJson = readJson('services', service, 'package.json');
  const lock = readJson('services', service, 'package-lock.json');

  it('pins every dependency to the exact version the root installs', () => {
    const all = { ...pkg.dependencies, ...pkg.devDependencies };
    expect(Object.keys(pkg.dependencies ?? {}).length).toBeGreaterThan(0);
    for (const [name, version] of Object.entries(all)) {
      expect(version, name).toMatch(/^\d+\.\d+\.\d+$/);
      expect(version, `${name} in services/${service} vs root`).toBe(rootVersions[name]);
    }
  });

  it('has a lock file that matches its package.json', () => {
    const locked = lock.packages[''];
    expect(locked.dependencies).toEqual(pkg.dependencies);
    expect(locked.devDependencies).toEqual(pkg.devDependencies);
    for (const [name, version] of Object.entries(pkg.dependencies ?? {})) {
      expect(lock.packages[`node_modules/${name}`]?.version, name).toBe(version);
    }
  });

  it('builds a non-root Node 22 image from ECR Public that runs the compiled entry point', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'services', service, 'Dockerfile'), 'utf8');
    const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((match) => match[1]);
    expect(bases).toEqual(['${NODE_IMAGE}', '${NODE_IMAGE}']);
    // Node 22 LTS from ECR Public unless the build passes another base image.
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=public\.ecr\.aws\/docker\/library\/node:22-alpine$/m);
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(new RegExp(`^CMD \\["node", "dist/${service}/src/main.js"\\]$`, 'm'));
    // The shared job contract and data formats are compiled into the image, the seed copied next to them.
    expect(dockerfile).toMatch(/^COPY shared \.\/shared$/m);
    expect(dockerfile).toMatch(/^COPY shared\/seed \.\/dist\/shared\/seed$/m);
  });
});
