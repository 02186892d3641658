// Times the whole test suite as `npm test` runs it (wall clock, this machine), prints the slowest
// files and the ratio to the 60 s target. A benchmark, not a test: nothing here fails on time.
// Before each run it times a fixed single-core task (a SHA-256 chain): a shared or throttled
// host shows there, so a slow run can be told from a slower suite. On Linux it also prints the
// CPU time the run used (its processes' user + system time).
//   node bench/tests.mjs [runs]      (npm run bench:tests)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/** Seconds a fixed single-core task takes now: the host's speed at this moment. */
function reference() {
  const start = process.hrtime.bigint();
  let digest = Buffer.from('bench');
  for (let i = 0; i < 1_000_000; i++) digest = createHash('sha256').update(digest).digest();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** CPU seconds used by the finished child processes of this one (Linux: /proc/self/stat cutime + cstime). */
function childCpuSeconds() {
  if (!existsSync('/proc/self/stat')) return undefined;
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100; // USER_HZ is 100 on Linux
}

const TARGET_SECONDS = 60;
const root = join(import.meta.dirname, '..');
const runs = Number(process.argv[2] ?? 1);
const scratch = mkdtempSync(join(tmpdir(), 'bench-tests-'));
const walls = [];
let lastReport;

for (let run = 1; run <= runs; run++) {
  const report = join(scratch, `report-${run}.json`);
  const ref = reference();
  const cpuBefore = childCpuSeconds();
  const start = process.hrtime.bigint();
  const result = spawnSync('npm', ['test', '--', '--reporter=json', `--outputFile=${report}`], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const cpuAfter = childCpuSeconds();
  const cpu = cpuBefore === undefined || cpuAfter === undefined ? '' : `, ${(cpuAfter - cpuBefore).toFixed(0)} CPU-s`;
  walls.push(wall);
  lastReport = JSON.parse(readFileSync(report, 'utf8'));
  console.log(
    `run ${run}: ${wall.toFixed(1)} s wall${cpu}, ${lastReport.numPassedTests} passed, ${lastReport.numFailedTests} failed (exit ${result.status}); reference task ${ref.toFixed(2)} s`,
  );
}
rmSync(scratch, { recursive: true, force: true });

const median = [...walls].sort((a, b) => a - b)[Math.floor(walls.length / 2)];
const files = lastReport.testResults
  .map((file) => ({ name: relative(root, file.name), seconds: (file.endTime - file.startTime) / 1000 }))
  .sort((a, b) => b.seconds - a.seconds);
console.log('\nslowest files (last run; files run side by side, so these overlap):');
for (const file of files.slice(0, 8)) console.log(`  ${file.seconds.toFixed(1).padStart(6)} s  ${file.name}`);
const total = files.reduce((sum, file) => sum + file.seconds, 0);
console.log(`  ${total.toFixed(1).padStart(6)} s  all ${files.length} files added up`);
console.log(`\nnpm test: median ${median.toFixed(1)} s wall over ${runs} run(s); ${(median / TARGET_SECONDS).toFixed(2)}x the ${TARGET_SECONDS} s target`);
