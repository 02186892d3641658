// The `app` command of cdk.json. It bundles the TypeScript app with esbuild and
// runs the bundle, on every synth: no separately built dist/ can go stale, and
// bundling our own source (dependencies stay external) takes a few tens of ms,
// where tsx would transpile every module on each run.
import { buildSync } from 'esbuild';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// .build/ sits one level below the root, like bin/ and lib/, so that paths the
// app derives from __dirname (the service folders) are the same bundled or not.
const outfile = join(root, '.build', 'app.cjs');

buildSync({
  entryPoints: [join(root, 'bin', 'app.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});

createRequire(import.meta.url)(outfile);
