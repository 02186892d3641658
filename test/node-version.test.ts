// Node.js: stated once (.nvmrc); everything else follows it or is checked against it here.
import { App, Stack } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appProps } from '../lib/app-props';
import { NODE_MAJOR } from '../lib/node-version';

const ROOT = join(__dirname, '..');
const read = (...path: string[]) => readFileSync(join(ROOT, ...path), 'utf8');
const json = (...path: string[]) => JSON.parse(read(...path));

describe('the Node.js version', () => {
  it('is stated in .nvmrc as an LTS major (22)', () => {
    expect(read('.nvmrc').trim()).toBe(String(NODE_MAJOR));
    expect(NODE_MAJOR).toBeGreaterThanOrEqual(22);
  });

  it('is what the test suite runs under (npm scripts run the pinned `node` devDependency)', () => {
    expect(Number(process.versions.node.split('.')[0])).toBe(NODE_MAJOR);
    const pkg = json('package.json');
    expect(pkg.devDependencies.node).toMatch(new RegExp(`^${NODE_MAJOR}\\.\\d+\\.\\d+$`));
    // The `node` package's preinstall fetches the binary: allowed by name (the lock file carries no
    // registry URLs, so npm cannot verify a pinned `node@x.y.z` entry; the version is pinned above).
    expect(pkg.allowScripts).toMatchObject({ node: true });
  });

  it.each(['package.json', 'services/api/package.json', 'services/worker/package.json'])('is the engines floor of %s, with matching @types/node', (file) => {
    const pkg = json(file);
    expect(pkg.engines).toEqual({ node: `>=${NODE_MAJOR}` });
    expect(pkg.devDependencies['@types/node']).toMatch(new RegExp(`^${NODE_MAJOR}\\.`));
  });

  it.each(['api', 'worker'])('is the default base image of the %s Dockerfile and of pipeline.baseImage', (service) => {
    expect(read('services', service, 'Dockerfile')).toMatch(new RegExp(`^ARG NODE_IMAGE=public\\.ecr\\.aws/docker/library/node:${NODE_MAJOR}-alpine$`, 'm'));
    expect(json('cdk.json').context.pipeline.baseImage).toBe(`public.ecr.aws/docker/library/node:${NODE_MAJOR}-alpine`);
  });

  it('is the one the README asks for', () => {
    const readme = read('README.md');
    expect(readme).toContain(`Node.js ${NODE_MAJOR}`);
    expect(readme).not.toMatch(/Node(\.js)? (1\d|20|21)\b/);
  });
});

describe('synth switches', () => {
  it('keeps no reserved aws: key in cdk.json (the CDK CLI warns about each)', () => {
    expect(Object.keys(json('cdk.json').context).filter((key) => key.startsWith('aws:'))).toEqual([]);
  });

  it('records no construct creation stack traces (set on the App instead)', () => {
    const creationStacks = (app: App) => {
      const stack = new Stack(app, 'S');
      new sqs.Queue(stack, 'Q');
      return stack.node.findAll().flatMap((c) => c.node.metadata).filter((entry) => entry.type === 'aws:cdk:creationStack');
    };
    expect(creationStacks(new App(appProps()))).toEqual([]);
    expect(creationStacks(new App()).length).toBeGreaterThan(0); // what the switch saves
  });

  it('writes no tree.json and no stack traces on metadata entries', () => {
    const app = new App(appProps());
    const stack = new Stack(app, 'S');
    stack.node.addMetadata('test', 'value');
    expect(stack.node.metadata.find((entry) => entry.type === 'test')?.trace).toBeUndefined();
    const assembly = app.synth();
    expect(assembly.tree()).toBeUndefined();
  });
});
