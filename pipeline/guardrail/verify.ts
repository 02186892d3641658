import { type AssemblyInfo, findStage, readCloudAssembly } from './assembly.ts';
import {
  type Attestation,
  AttestationFormatError,
  type AttestedEntry,
  computeEntries,
  hmacMatches,
  type MissingPath,
  readAttestation,
} from './attestation.ts';
import { AUDIT_IDS, auditStage } from './audit.ts';
import { type CheckResult, fail, fromProblems, pass, skip } from './check.ts';
import { diffEntries } from './compare.ts';
import { checkNagFindings } from './nag.ts';
import { parityChecks } from './parity.ts';
import { realRoot, UnusableInputError } from './safe-fs.ts';
import { type AcceptedKey, GuardrailTokenError, verificationKeys } from './token.ts';

/** The environment variable carrying the CodePipeline execution id, bound into the attestation when set. */
export const EXECUTION_ENV_VAR = 'PIPELINE_EXECUTION_ID';

export interface VerifyOptions {
  /** The cloud assembly directory (`cdk.out`); any absolute or relative path, the cwd does not matter. */
  readonly assemblyDir: string;
  /** The commit the assembly must have been signed for (`--release`). */
  readonly release: string;
  /** GUARDRAIL_TOKEN, GUARDRAIL_PREVIOUS_TOKEN and PIPELINE_EXECUTION_ID are read from here. */
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
  readonly release: string;
  readonly stagingStage: string;
  readonly productionStage: string;
  /** Key ids verify accepted (current first, then previous during a rotation). */
  readonly acceptedKeyIds: readonly string[];
  /** Key id the attestation says it was signed with, when it could be read. */
  readonly attestationKeyId?: string;
  /** Which variable's token the attestation verified with, when the signature checked out. */
  readonly signedWith?: string;
  readonly checks: readonly CheckResult[];
}

/**
 * Runs every guardrail check on the assembly at `assemblyDir` and returns them all (it
 * does not stop at the first failure, so one run shows everything that is wrong).
 * Throws UnusableInputError when the assembly cannot be read safely (the CLI exits 2).
 */
export function verifyAssembly(options: VerifyOptions): VerifyResult {
  const assemblyDir = realRoot(options.assemblyDir);
  const stagingStage = options.stagingStage ?? 'Staging';
  const productionStage = options.productionStage ?? 'Production';
  const checks: CheckResult[] = [];

  let keys: AcceptedKey[] = [];
  try {
    keys = verificationKeys(options.env);
    checks.push(pass('token', `accepted key ids: ${keys.map((k) => `${k.keyId} (${k.source})`).join(', ')}`));
  } catch (error) {
    if (!(error instanceof GuardrailTokenError)) throw error;
    checks.push(fail('token', error.message));
  }

  let attestation: Attestation | undefined;
  try {
    attestation = readAttestation(assemblyDir);
    checks.push(pass('attestation', `attestation present and well-formed (${attestation.entries.length} entries)`));
  } catch (error) {
    if (!(error instanceof AttestationFormatError)) throw error;
    checks.push(fail('attestation', error.message));
  }

  const signature = signatureChecks(keys, attestation);
  checks.push(...signature.checks);
  checks.push(releaseCheck(attestation, options.release, options.env[EXECUTION_ENV_VAR]));

  let current: { entries: AttestedEntry[]; missing: MissingPath[] } | undefined;
  let assemblies: AssemblyInfo[] | undefined;
  try {
    assemblies = readCloudAssembly(assemblyDir);
    current = computeEntries(assemblyDir, assemblies);
  } catch (error) {
    rethrowUnusable(error);
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

  checks.push(...stageChecks(assemblyDir, assemblies, current?.entries, attestation, stagingStage, productionStage));
  checks.push(checkNagFindings(assemblyDir));

  return {
    ok: checks.every((c) => c.status === 'pass'),
    assemblyDir,
    release: options.release,
    stagingStage,
    productionStage,
    acceptedKeyIds: keys.map((k) => k.keyId),
    ...(attestation ? { attestationKeyId: attestation.keyId } : {}),
    ...(signature.signedWith ? { signedWith: signature.signedWith } : {}),
    checks,
  };
}

function rethrowUnusable(error: unknown): void {
  if (error instanceof UnusableInputError) throw error;
}

function signatureChecks(
  keys: readonly AcceptedKey[],
  attestation: Attestation | undefined,
): { checks: CheckResult[]; signedWith?: string } {
  if (keys.length === 0 || !attestation) {
    const why = keys.length === 0 ? 'no usable GUARDRAIL_TOKEN' : 'no readable attestation';
    return { checks: [skip('key-id', `not checked: ${why}`), skip('signature', `not checked: ${why}`)] };
  }
  const key = keys.find((k) => k.keyId === attestation.keyId);
  if (!key) {
    return {
      checks: [
        fail(
          'key-id',
          `unknown key: the attestation was signed with key id ${attestation.keyId}; accepted: ` +
            keys.map((k) => `${k.keyId} (${k.source})`).join(', '),
        ),
        skip('signature', 'not checked: no accepted key has the attestation key id'),
      ],
    };
  }
  const keyCheck = pass('key-id', `attestation signed with key id ${key.keyId}, the key of ${key.source}`);
  if (!hmacMatches(attestation, key)) {
    return {
      checks: [
        keyCheck,
        fail('signature', 'HMAC-SHA256 of the attestation does not match: it was changed after signing or signed with another token'),
      ],
    };
  }
  return { checks: [keyCheck, pass('signature', `HMAC-SHA256 of the attestation is valid for ${key.source}`)], signedWith: key.source };
}

/** The attestation names the release being verified (no replay of another commit's assembly). */
function releaseCheck(attestation: Attestation | undefined, release: string, executionId: string | undefined): CheckResult {
  if (!attestation) return skip('release', 'not checked: no readable attestation');
  const signed = attestation.release;
  if (signed.commit !== release) {
    return fail('release', `the assembly was signed for commit ${signed.commit}, not for the release ${release}: refusing a replay`);
  }
  if (executionId !== undefined && executionId !== '' && signed.pipelineExecutionId !== executionId) {
    return fail(
      'release',
      `the assembly was signed in pipeline execution ${signed.pipelineExecutionId ?? '(none)'}, this is execution ${executionId}`,
    );
  }
  const execution = signed.pipelineExecutionId ? `, pipeline execution ${signed.pipelineExecutionId}` : '';
  return pass('release', `signed for commit ${release}${execution}`);
}

const PARITY_IDS = ['staging-parity', 'template-parity', 'production-contents'];

function stageChecks(
  assemblyDir: string,
  assemblies: readonly AssemblyInfo[] | undefined,
  entries: readonly AttestedEntry[] | undefined,
  attestation: Attestation | undefined,
  stagingStage: string,
  productionStage: string,
): CheckResult[] {
  if (!assemblies || !entries) {
    return [...PARITY_IDS, ...AUDIT_IDS].map((id) => skip(id, 'not checked: the assembly could not be read'));
  }
  let production: AssemblyInfo | undefined;
  const results: CheckResult[] = [];
  try {
    production = findStage(assemblies, productionStage);
    const staging = findStage(assemblies, stagingStage);
    results.push(
      ...parityChecks({
        root: assemblyDir,
        staging,
        production,
        digestOf: new Map(entries.map((e) => [e.path, e.sha256])),
        stageConfig: attestation?.stageConfig ?? null,
      }),
    );
  } catch (error) {
    rethrowUnusable(error);
    results.push(...PARITY_IDS.map((id) => fail(id, (error as Error).message)));
  }
  if (!production) return [...results, ...AUDIT_IDS.map((id) => skip(id, `not checked: no stage ${productionStage}`))];
  try {
    results.push(...auditStage(assemblyDir, production));
  } catch (error) {
    rethrowUnusable(error);
    results.push(
      ...AUDIT_IDS.map((id) => fail(id, `cannot read the production templates: ${(error as Error).message}`)),
    );
  }
  return results;
}
