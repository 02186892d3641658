import type { AssemblyInfo, AssetSource } from './assembly.js';
import type { AttestedEntry } from './attestation.js';
import { type CheckResult, fromProblems } from './check.js';

/**
 * "What ships is what was tested": every asset the production stage publishes must be
 * published by the staging stage too, with the same content. Assets are compared by
 * content digest (the same bytes may sit at different paths), or, for assets built by
 * an `executable`, by asset id. Templates are excluded: they legitimately differ
 * between stages (names, sizing) and are covered by the signature and the audit.
 */
export function checkStagingParity(
  staging: AssemblyInfo,
  production: AssemblyInfo,
  entries: readonly AttestedEntry[],
): CheckResult {
  const digestOf = new Map(entries.map((e) => [e.path, e.sha256]));
  const identity = (asset: AssetSource): string | undefined =>
    asset.path === undefined ? `executable:${asset.id}` : digestOf.get(asset.path);
  const templates = new Set([...staging.stacks, ...production.stacks].map((s) => s.template));
  const isTemplate = (asset: AssetSource): boolean =>
    asset.path !== undefined && (templates.has(asset.path) || asset.path.endsWith('.template.json'));

  const tested = new Set(staging.assets.filter((a) => !isTemplate(a)).map(identity));
  const shipped = production.assets.filter((a) => !isTemplate(a));
  const problems = shipped
    .filter((asset) => identity(asset) === undefined || !tested.has(identity(asset)))
    .map(
      (asset) =>
        `${asset.kind} ${asset.id} (${asset.path ?? 'built by an executable'}, named by ${asset.manifest}) ` +
        `is deployed by ${production.displayName} but ${staging.displayName} never deployed it`,
    );
  return fromProblems(
    'staging-parity',
    problems,
    `all ${shipped.length} assets of ${production.displayName} were deployed by ${staging.displayName} too`,
    `${production.displayName} deploys assets that ${staging.displayName} did not`,
  );
}
