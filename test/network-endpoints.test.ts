// The endpoint lists the network rehearsal checks (pipeline/rehearsal/network.ts) say what each
// workload's code calls: every AWS SDK client its program imports (statically or dynamically,
// following its relative imports from the entry file) is in its list, and the list names no client
// the code does not import.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NETWORK_ENDPOINT_LISTS, readEndpointLists } from '../pipeline/rehearsal/network';
import { REPO_ROOT } from './support/app';

/** The @aws-sdk/client-* packages imported by `entry` and every file it imports relatively. */
function sdkClientsImported(entry: string): Set<string> {
  const clients = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const [, specifier] of source.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      if (/^@aws-sdk\/client-/.test(specifier)) clients.add(specifier);
      else if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.endsWith('.ts') ? specifier : `${specifier}.ts`));
    }
  };
  visit(entry);
  return clients;
}

describe('the network endpoint lists', () => {
  const lists = readEndpointLists(REPO_ROOT);

  it.each(NETWORK_ENDPOINT_LISTS.map((file, i) => [file, i] as const))('%s names every AWS SDK client its program builds, and no other', (file, i) => {
    const list = lists[i];
    const imported = sdkClientsImported(join(REPO_ROOT, dirname(file), list.entry));
    const listed = new Set(list.awsServices.flatMap((s) => (s.client ? [s.client] : [])));
    expect([...imported].filter((c) => !listed.has(c)), `clients ${file} omits`).toEqual([]);
    expect([...listed].filter((c) => !imported.has(c)), `clients ${file} lists but the code does not import`).toEqual([]);
  });

  it('finds a client imported two files away, and one loaded by a dynamic import (the scanner itself)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sdk-scan-'));
    try {
      writeFileSync(join(dir, 'main.ts'), "import { run } from './a.ts';\nrun();\n");
      writeFileSync(join(dir, 'a.ts'), "import { SNSClient } from '@aws-sdk/client-sns';\nexport const run = () => import('./b');\n");
      writeFileSync(join(dir, 'b.ts'), "const load = () => import('@aws-sdk/client-kms');\nexport default load;\n");
      expect(sdkClientsImported(join(dir, 'main.ts'))).toEqual(new Set(['@aws-sdk/client-sns', '@aws-sdk/client-kms']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names the API's OIDC issuer as a URL it calls, the variable its configuration reads", () => {
    const api = lists.find((l) => l.constructPath === 'api-id6pe9zboa/Task')!;
    expect(api.urlVariables).toContain('OIDC_ISSUER');
    expect(readFileSync(join(REPO_ROOT, 'services/api/src/config.ts'), 'utf8')).toContain('env.OIDC_ISSUER');
  });
});
