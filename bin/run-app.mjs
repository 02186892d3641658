// The `app` command of cdk.json. It bundles the TypeScript app with esbuild in
// memory and runs the bundle, on every synth: no separately built dist/ can go
// stale, nothing is written (concurrent synths cannot collide), and bundling
// our own source (dependencies stay external) takes a few tens of ms, where
// tsx would transpile every module on each run.
import { buildSync } from 'esbuild';
import { readFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The bundle runs as if it were bin/app.cjs, so that paths the app derives
// from __dirname (the service folders) are the same bundled or not.
const filename = join(root, 'bin', 'app.cjs');

const [bundle] = buildSync({
  entryPoints: [join(root, 'bin', 'app.ts')],
  outfile: filename,
  write: false,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  // The Node.js major of .nvmrc, the project's one statement of it.
  target: `node${readFileSync(join(root, '.nvmrc'), 'utf8').trim().replace(/^v/, '')}`,
  packages: 'external',
  logLevel: 'warning',
}).outputFiles;

// Most of a synth is V8 compiling aws-cdk-lib's modules: Node 22's built-in
// compile cache keeps their code cache on disk between runs (in the OS temp
// directory, or NODE_COMPILE_CACHE), so later synths skip the compilation.
Module.enableCompileCache?.();

const app = new Module(filename);
app.filename = filename;
app.paths = Module._nodeModulePaths(dirname(filename));
app._compile(bundle.text, filename);
