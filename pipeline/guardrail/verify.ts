import { resolve } from 'node:path';
import { type AssemblyInfo, findStage, readCloudAssembly } from './assembly.js';
import {
  type Attestation,
  type AttestedEntry,
  computeEntries,
  hmacMatches,
  type MissingPath,
  readAttestation,
} from './attestation.js';
import { auditResources } from './audit.js';
import { type CheckResult, fail, fromProblems, pass, skip } from './check.js';
import { diffEntries } from './compare.js';
import { checkNagFindings } from './nag.js';
import { checkStagingParity } from './parity.js';
import { loadResources } from './templates.js';
import { keyIdOf, resolveGuardrailToken, TOKEN_ENV_VAR } from './token.js';

export interface VerifyOptions {
  /** The cloud assembly directory (`cdk.out`). */
  readonly assemblyDir: string;
  /** Where GUARDRAIL_TOKEN is read from. Verify never falls back to cdk.json: the pipeline must supply the secret. */
  readonly env: NodeJS.ProcessEnv;
  /** @default 'Staging' */
  readonly stagingStage?: string;
  /** @default 'Production' */
  readonly productionStage?: string;
}

export interface VerifyResult {
  /** True only when every check passed. */
  readonly ok: boolean;
  readonly assemblyDir: string;
  readonly stagingStage: string;
  readonly productionStage: string;
  /** Key id of GUARDRAIL_TOKEN, when it was set and well-formed. */
  readonly keyId?: string;
  /** Key id the attestation says it was signed with, when it could be read. */
  readonly attestationKeyId?: string;
  readonly checks: readonly CheckResult[];
}

/**
 * Runs every guardrail check on the assembly at `assemblyDir` and returns them all (it
 * does not stop at the first failure, so one run shows everything that is wrong).
 */
export function verifyAssembly(options: VerifyOptions): VerifyResult {
  const assemblyDir = resolve(options.assemblyDir);
  const stagingStage = options.stagingStage ?? 'Staging';
  const productionStage = options.productionStage ?? 'Production';
  const checks: CheckResult[] = [];

  let token: string | undefined;
  try {
    token = resolveGuardrailToken({ env: options.env });
    checks.push(pass('token', `${TOKEN_ENV_VAR} is set and well-formed (key id ${keyIdOf(token)})`));
  } catch (error) {
    checks.push(fail('token', (error as Error).message));
  }

  let attestation: Attestation | undefined;
  try {
    attestation = readAttestation(assemblyDir);
    checks.push(pass('attestation', `attestation present and well-formed (${attestation.entries.length} entries)`));
  } catch (error) {
    checks.push(fail('attestation', (error as Error).message));
  }

  checks.push(...signatureChecks(token, attestation));

  let current: { entries: AttestedEntry[]; missing: MissingPath[] } | undefined;
  let assemblies: AssemblyInfo[] | undefined;
  try {
    assemblies = readCloudAssembly(assemblyDir);
    current = computeEntries(assemblyDir, assemblies);
  } catch (error) {
    checks.push(fail('digests', `cannot read the assembly: ${(error as Error).message}`));
  }
  if (current) {
    if (attestation) {
      const problems = diffEntries(attestation.entries, current.entries, current.missing);
      checks.push(
        fromProblems(
          'digests',
          problems,
          `all ${current.entries.length} templates, assets and manifests match the attestation`,
          'the assembly differs from what was signed',
        ),
      );
    } else {
      checks.push(skip('digests', 'no readable attestation to compare the assembly with'));
    }
  }

  checks.push(...stageChecks(assemblyDir, assemblies, current?.entries, stagingStage, productionStage));
  checks.push(checkNagFindings(assemblyDir));

  return {
    ok: checks.every((c) => c.status === 'pass'),
    assemblyDir,
    stagingStage,
    productionStage,
    ...(token ? { keyId: keyIdOf(token) } : {}),
    ...(attestation ? { attestationKeyId: attestation.keyId } : {}),
    checks,
  };
}

function signatureChecks(token: string | undefined, attestation: Attestation | undefined): CheckResult[] {
  if (!token || !attestation) {
    const why = !token ? `no usable ${TOKEN_ENV_VAR}` : 'no readable attestation';
    return [skip('key-id', `not checked: ${why}`), skip('signature', `not checked: ${why}`)];
  }
  const keyId = keyIdOf(token);
  const keyCheck =
    keyId === attestation.keyId
      ? pass('key-id', `attestation signed with key id ${keyId}, the key id of ${TOKEN_ENV_VAR}`)
      : fail(
          'key-id',
          `wrong token: the attestation was signed with key id ${attestation.keyId}, ${TOKEN_ENV_VAR} has key id ${keyId}`,
        );
  const signatureCheck = hmacMatches(attestation, token)
    ? pass('signature', `HMAC-SHA256 of the attestation is valid for ${TOKEN_ENV_VAR}`)
    : fail(
        'signature',
        `HMAC-SHA256 of the attestation does not match: it was changed after signing or signed with another token`,
      );
  return [keyCheck, signatureCheck];
}

const AUDIT_IDS = [
  'log-retention',
  's3-public-access',
  's3-encryption',
  's3-ssl',
  'cloudfront-logging',
  'alb-logging',
  'vpc-flow-logs',
  'iam-wildcard',
];

function stageChecks(
  assemblyDir: string,
  assemblies: readonly AssemblyInfo[] | undefined,
  entries: readonly AttestedEntry[] | undefined,
  stagingStage: string,
  productionStage: string,
): CheckResult[] {
  if (!assemblies || !entries) {
    return ['staging-parity', ...AUDIT_IDS].map((id) => skip(id, 'not checked: the assembly could not be read'));
  }
  let staging: AssemblyInfo | undefined;
  let production: AssemblyInfo | undefined;
  const results: CheckResult[] = [];
  try {
    production = findStage(assemblies, productionStage);
    staging = findStage(assemblies, stagingStage);
    results.push(checkStagingParity(staging, production, entries));
  } catch (error) {
    results.push(fail('staging-parity', (error as Error).message));
  }
  if (!production) return [...results, ...AUDIT_IDS.map((id) => skip(id, `not checked: no stage ${productionStage}`))];
  try {
    results.push(...auditResources(loadResources(assemblyDir, production)));
  } catch (error) {
    results.push(
      ...AUDIT_IDS.map((id) => fail(id, `cannot read the production templates: ${(error as Error).message}`)),
    );
  }
  return results;
}
