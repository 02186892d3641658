// Times the project's full `npx cdk synth` (as a user runs it) against the
// floor: the same CLI synthesizing a precompiled JavaScript app with one empty
// stack. Alternates the two, takes
// the median of RUNS runs each, prints both and the ratio.
//   node bench/synth.mjs [runs]
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 5);
const cdk = join(root, 'node_modules', '.bin', 'cdk');

// The floor app lives under the repo so that it resolves the same aws-cdk-lib.
const floorDir = join(root, '.build', 'bench-floor');
rmSync(floorDir, { recursive: true, force: true });
mkdirSync(floorDir, { recursive: true });
writeFileSync(join(floorDir, 'app.js'), `
const { App, Stack } = require('aws-cdk-lib');
process.env.CDK_VALIDATION ??= 'false'; // as bin/app.ts
const app = new App();
new Stack(app, 'Empty');
app.synth();
`);
writeFileSync(join(floorDir, 'cdk.json'), JSON.stringify({ app: 'node app.js' }));

function time(cwd, args) {
  const start = process.hrtime.bigint();
  execFileSync('npx', [cdk, ...args], { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
  return Number(process.hrtime.bigint() - start) / 1e9;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const app = [];
const floor = [];
time(root, ['synth', '-q', '**']); // warm the file cache once
for (let i = 0; i < runs; i++) {
  floor.push(time(floorDir, ['synth', '-q', '-o', join(floorDir, 'cdk.out')]));
  app.push(time(root, ['synth', '-q', '**']));
}
const [a, f] = [median(app), median(floor)];
console.log(`floor (empty precompiled app): median ${f.toFixed(2)} s over ${runs} runs [${floor.map((x) => x.toFixed(2)).join(', ')}]`);
console.log(`br-fagq2 full synth:           median ${a.toFixed(2)} s over ${runs} runs [${app.map((x) => x.toFixed(2)).join(', ')}]`);
console.log(`ratio: ${(a / f).toFixed(2)}x the floor (target: at most 1.5x)`);
