// Packs GuardrailValidation's program for a step that has no source: the Synth step runs
//   node pipeline/guardrail/bundle.ts <dir>
// and hands <dir> on as an output of its own. <dir> then holds request.ts bundled with everything
// it imports (the Lambda client included) into one file, and a package.json whose `guardrail`
// script runs it, so that GuardrailValidation runs the same `npm run --silent guardrail -- ...`
// with no clone of the repository (its role needs no use of the source connection) and no `npm ci`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** The bundle's file name inside the output folder. */
export const BUNDLE_FILE = 'request.mjs';

/** Writes the bundle and its package.json into `outDir` (created if missing). */
export async function bundleGuardrailRequest(outDir: string): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(here, 'request.ts')],
    outfile: join(outDir, BUNDLE_FILE),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    logLevel: 'warning',
    // CommonJS dependencies bundled into an ES module still call require() for Node's own modules.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
  const manifest = { name: 'guardrail-request', private: true, type: 'module', scripts: { guardrail: `node ${BUNDLE_FILE}` } };
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

if (import.meta.main) {
  const [outDir] = process.argv.slice(2);
  if (!outDir) {
    console.error('usage: node pipeline/guardrail/bundle.ts <output folder>');
    process.exit(2);
  }
  await bundleGuardrailRequest(resolve(outDir));
  console.log(`guardrail: bundled the request program into ${outDir}`);
}
