import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The Node.js major version the project runs on, read from `.nvmrc` at synth: the one place it is
 * stated. package.json's engines and `node` devDependency, the Dockerfiles' default base image,
 * configuration's `pipeline.baseImage`, the README and the CodeBuild runtime follow it;
 * test/node-version.test.ts fails when one of them does not. Moving to the next LTS is a change of
 * `.nvmrc` plus what that test then names.
 */
export const NODE_MAJOR: number = readNodeMajor(join(__dirname, '..', '.nvmrc'));

export function readNodeMajor(path: string): number {
  const text = readFileSync(path, 'utf8').trim();
  const major = /^v?(\d+)$/.exec(text)?.[1];
  if (!major) throw new Error(`${path} must hold a Node.js major version such as 22, got "${text}"`);
  return Number(major);
}
