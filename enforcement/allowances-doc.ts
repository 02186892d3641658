// The README's lists of what may differ between stages and what must not, generated from the
// statement (allowances.json). `node enforcement/allowances-doc.ts` prints them;
// `node enforcement/allowances-doc.ts README.md` exits 1 when the README's copy (between the
// markers below) is not that; test/enforcement/allowances-readme.test.ts checks it too.
import { readFileSync } from 'node:fs';
import { type Allowances, loadAllowances } from './allowances.ts';

export const BEGIN_MARKER = '<!-- allowances: generated from enforcement/allowances.json by `node enforcement/allowances-doc.ts` -->';
export const END_MARKER = '<!-- /allowances -->';

/** The two tables, between the markers. */
export function allowancesMarkdown(allowances: Allowances): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const kind = (s: Allowances['differ'][number]) => (s.normalized ? 'set aside' : s.resources.length > 0 ? 'resources' : 'value');
  const differ = allowances.differ.map((s) => `| \`${s.key}\` | ${kind(s)} | ${cell(s.why)} |`);
  const same = allowances.same.map((s) => `| \`${s.key}\` | ${cell(s.why)} |`);
  return [
    BEGIN_MARKER,
    '',
    '| may differ between staging and production | how | why |',
    '| --- | --- | --- |',
    ...differ,
    '',
    '| must be the same in both stages | why staging must rehearse it |',
    '| --- | --- |',
    ...same,
    '',
    END_MARKER,
  ].join('\n');
}

/** The generated part of a markdown file (between the markers, included), or undefined. */
export function generatedPart(markdown: string): string | undefined {
  const start = markdown.indexOf(BEGIN_MARKER);
  const end = markdown.indexOf(END_MARKER);
  return start < 0 || end < start ? undefined : markdown.slice(start, end + END_MARKER.length);
}

if (import.meta.main) {
  const [file] = process.argv.slice(2);
  const allowances = loadAllowances();
  if (file) {
    const current = generatedPart(readFileSync(file, 'utf8'));
    if (current !== allowancesMarkdown(allowances)) {
      console.error(`${file}: the allowances tables are not the ones enforcement/allowances.json gives; run node enforcement/allowances-doc.ts and paste its output`);
      process.exit(1);
    }
  } else console.log(allowancesMarkdown(allowances));
}
