// The README's lists of what may differ between stages are the statement's: generated from
// enforcement/allowances.json, and this fails when the two disagree.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAllowances } from '../../enforcement/allowances';
import { allowancesMarkdown, generatedPart } from '../../enforcement/allowances-doc';
import { REPO_ROOT } from '../support/app';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const allowances = loadAllowances(join(REPO_ROOT, 'enforcement/allowances.json'));

describe('README: what may differ between stages', () => {
  it('holds the tables enforcement/allowances.json gives, in its Configuration section', () => {
    const part = generatedPart(readme);
    expect(part, 'the README has no generated allowances tables').toBeDefined();
    expect(part).toBe(allowancesMarkdown(allowances));
    const configuration = readme.slice(readme.indexOf('\n## Configuration\n'), readme.indexOf('\n## Deploy\n'));
    expect(configuration).toContain(part!);
  });

  it('lists every key that may differ and every key that must not, each once', () => {
    const rows = (heading: string) => {
      const table = generatedPart(readme)!.split(heading)[1]!.split('\n\n')[0]!;
      return [...table.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
    };
    expect(rows('| may differ between staging and production |')).toEqual(allowances.differ.map((s) => s.key));
    expect(rows('| must be the same in both stages |')).toEqual(allowances.same.map((s) => s.key));
  });

  it('says a change takes effect when the enforcement stack is redeployed, and links the procedure', () => {
    expect(readme).toMatch(/A change to `enforcement\/allowances\.json` takes effect only when the\s+enforcement stack is\s+redeployed/);
    expect(readme).toContain('(docs/enforcement.md)');
  });

  it('the generator\'s check exits 1 on a README whose tables drifted, 0 on this one', () => {
    const run = (file: string) => spawnSync('node', ['enforcement/allowances-doc.ts', file], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(run('README.md').status).toBe(0);
    const other = run('docs/allowances.md');
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/docs\/allowances\.md: the allowances tables are not the ones enforcement\/allowances\.json gives/);
  });
});
