// The `app` command of cdk.json. It bundles the TypeScript app with esbuild in
// memory and runs the bundle: no separately built dist/ can go stale, and
// bundling our own source (dependencies stay external) is quicker than
// transpiling every module on each run. The bundle is reused while none of its
// inputs changed (below).
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The bundle runs as if it were bin/app.cjs, so that paths the app derives
// from __dirname (the service folders) are the same bundled or not.
const filename = join(root, 'bin', 'app.cjs');
// The Node.js major of .nvmrc, the project's one statement of it.
const target = `node${readFileSync(join(root, '.nvmrc'), 'utf8').trim().replace(/^v/, '')}`;

// The last bundle and the size and mtime of every file it was built from: when
// none changed, the synth skips esbuild (loading it and bundling cost about
// 0.2 s). One file, replaced atomically, so concurrent synths never read half
// of one.
const cacheFile = join(root, '.build', 'app-bundle.json');

function cachedBundle() {
  try {
    const cache = JSON.parse(readFileSync(cacheFile, 'utf8'));
    if (cache.target !== target) return undefined;
    for (const [path, [size, mtimeMs]] of Object.entries(cache.inputs)) {
      const stat = statSync(join(root, path));
      if (stat.size !== size || stat.mtimeMs !== mtimeMs) return undefined;
    }
    return cache.text;
  } catch {
    return undefined;
  }
}

async function bundle() {
  const { buildSync } = await import('esbuild');
  const { outputFiles, metafile } = buildSync({
    entryPoints: [join(root, 'bin', 'app.ts')],
    absWorkingDir: root,
    outfile: filename,
    write: false,
    bundle: true,
    metafile: true,
    platform: 'node',
    format: 'cjs',
    target,
    packages: 'external',
    logLevel: 'warning',
  });
  const text = outputFiles[0].text;
  const inputs = Object.fromEntries(
    Object.keys(metafile.inputs).map((path) => {
      const stat = statSync(join(root, path));
      return [path, [stat.size, stat.mtimeMs]];
    }),
  );
  try {
    mkdirSync(dirname(cacheFile), { recursive: true });
    const partial = `${cacheFile}.${process.pid}`;
    writeFileSync(partial, JSON.stringify({ target, inputs, text }));
    renameSync(partial, cacheFile);
  } catch {
    // A read-only checkout still synthesizes, just without the cache.
  }
  return text;
}

const text = cachedBundle() ?? (await bundle());

// Most of a synth is V8 compiling aws-cdk-lib's modules: Node 22's built-in
// compile cache keeps their code cache on disk between runs (in the OS temp
// directory, or NODE_COMPILE_CACHE), so later synths skip the compilation.
Module.enableCompileCache?.();

const app = new Module(filename);
app.filename = filename;
app.paths = Module._nodeModulePaths(dirname(filename));
app._compile(text, filename);
