import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, lstatSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { type AssemblyInfo, readCloudAssembly } from './assembly.ts';
import { canonicalJson } from './canonical.ts';
import { type CoveredKind, type CoveredPath, coveredPaths } from './coverage.ts';
import { compareStrings, type DirectoryMember, hashPath } from './digest.ts';
import { ReadBudget, readJson, realRoot, resolveInside, typeName, UnusableInputError } from './safe-fs.ts';
import { type GuardrailKey, KDF_DESCRIPTION } from './token.ts';

/** The attestation file, at the assembly root. */
export const ATTESTATION_FILE = 'guardrail-attestation.json';
export const ATTESTATION_FORMAT = 'br-fagq2.guardrail-attestation.v2';
export const ATTESTATION_ALGORITHM = 'HMAC-SHA256';

/** One covered path with its digest. */
export interface AttestedEntry {
  readonly path: string;
  readonly kind: CoveredKind;
  readonly usedBy: readonly string[];
  readonly type: 'file' | 'symlink' | 'directory';
  readonly sha256: string;
  /** For a directory: its files and symlinks, sorted by path bytes. */
  readonly members?: readonly DirectoryMember[];
}

/** What the attestation is for: the source commit and, when the pipeline gives one, its execution. */
export interface Release {
  /** The full git commit id (40 or 64 lowercase hex). */
  readonly commit: string;
  /** The CodePipeline execution id (PIPELINE_EXECUTION_ID at sign time), or null. */
  readonly pipelineExecutionId: string | null;
}

/** The per-stage configuration the signer read (`context.<stage>` of the commit's cdk.json), for structural parity. */
export interface StageConfig {
  readonly staging: unknown;
  readonly production: unknown;
}

/** The content of guardrail-attestation.json. */
export interface Attestation {
  readonly format: typeof ATTESTATION_FORMAT;
  readonly algorithm: typeof ATTESTATION_ALGORITHM;
  /** How the HMAC key is derived from the token (KDF_DESCRIPTION). */
  readonly kdf: string;
  /** 16 hex characters, derived from the scrypt-derived key: says which token signed. */
  readonly keyId: string;
  readonly release: Release;
  readonly stageConfig: StageConfig | null;
  readonly entries: readonly AttestedEntry[];
  /** Hex HMAC-SHA256 with the derived key over canonicalSerialization(the fields above). */
  readonly hmac: string;
}

/** The attestation file is missing or malformed; the message names the file. */
export class AttestationFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AttestationFormatError';
  }
}

/** A git commit id: SHA-1 (40 hex) or SHA-256 (64 hex), lowercase. */
export const COMMIT_PATTERN = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters');
const memberSchema = z.strictObject({ path: z.string().min(1), type: z.enum(['file', 'symlink']), sha256: hex64 });
const entrySchema = z.strictObject({
  path: z.string().min(1),
  kind: z.enum(['manifest', 'assets-manifest', 'template', 'file-asset', 'docker-context', 'validation-report']),
  usedBy: z.array(z.string()),
  type: z.enum(['file', 'symlink', 'directory']),
  sha256: hex64,
  members: z.array(memberSchema).optional(),
});
const attestationSchema = z.strictObject({
  format: z.literal(ATTESTATION_FORMAT),
  algorithm: z.literal(ATTESTATION_ALGORITHM),
  kdf: z.string(),
  keyId: z.string().regex(/^[0-9a-f]{16}$/, 'expected 16 lowercase hex characters'),
  release: z.strictObject({
    commit: z.string().regex(COMMIT_PATTERN, 'expected a full git commit id'),
    pipelineExecutionId: z.string().min(1).max(200).nullable(),
  }),
  stageConfig: z.strictObject({ staging: z.unknown(), production: z.unknown() }).nullable(),
  entries: z.array(entrySchema),
  hmac: hex64,
});

/** A covered path whose file is not on disk. */
export interface MissingPath extends CoveredPath {}

/** The covered paths of an assembly, hashed now. Throws AssemblyFormatError or UnusableInputError. */
export function computeEntries(
  root: string,
  assemblies: readonly AssemblyInfo[] = readCloudAssembly(root),
): { entries: AttestedEntry[]; missing: MissingPath[] } {
  const real = realRoot(root);
  const context = { root: real, budget: new ReadBudget() };
  const entries: AttestedEntry[] = [];
  const missing: MissingPath[] = [];
  for (const covered of coveredPaths(real, assemblies)) {
    const found = resolveInside(real, covered.path);
    if (!found) {
      missing.push(covered);
      continue;
    }
    const digest = hashPath(found.real, covered.path, context);
    entries.push({
      path: covered.path,
      kind: covered.kind,
      usedBy: covered.usedBy,
      type: digest.type,
      sha256: digest.sha256,
      ...(digest.members ? { members: digest.members } : {}),
    });
  }
  return { entries, missing };
}

/**
 * The exact bytes the HMAC covers: the canonical JSON (sorted keys, no whitespace, see
 * canonical.ts) of every field but the HMAC, entries sorted by path.
 */
export function canonicalSerialization(unsigned: Omit<Attestation, 'hmac'>): string {
  const { format, algorithm, kdf, keyId, release, stageConfig } = unsigned;
  const entries = [...unsigned.entries].sort((a, b) => compareStrings(a.path, b.path));
  return canonicalJson({ format, algorithm, kdf, keyId, release, stageConfig, entries });
}

/** Hex HMAC-SHA256 of the canonical serialization with the derived key. */
export function computeHmac(unsigned: Omit<Attestation, 'hmac'>, key: GuardrailKey): string {
  return createHmac('sha256', key.macKey).update(canonicalSerialization(unsigned), 'utf8').digest('hex');
}

/** Whether the attestation's HMAC is the one `key` gives; compared in constant time. */
export function hmacMatches(attestation: Attestation, key: GuardrailKey): boolean {
  const { hmac, ...unsigned } = attestation;
  const expected = Buffer.from(computeHmac(unsigned, key), 'hex');
  const actual = Buffer.from(hmac, 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** What `sign` binds into the attestation besides the assembly. */
export interface SignOptions {
  readonly release: Release;
  readonly stageConfig?: StageConfig;
}

/** Builds the signed attestation of the assembly at `root`. Throws if a covered file is missing. */
export function createAttestation(root: string, key: GuardrailKey, options: SignOptions): Attestation {
  if (!COMMIT_PATTERN.test(options.release.commit)) {
    throw new AttestationFormatError(`release ${JSON.stringify(options.release.commit)} is not a full git commit id`);
  }
  const { entries, missing } = computeEntries(root);
  if (missing.length > 0) {
    throw new AttestationFormatError(
      `cannot sign ${root}: files named by its manifests are missing: ${missing.map((m) => m.path).join(', ')}`,
    );
  }
  const unsigned = {
    format: ATTESTATION_FORMAT,
    algorithm: ATTESTATION_ALGORITHM,
    kdf: KDF_DESCRIPTION,
    keyId: key.keyId,
    release: options.release,
    stageConfig: options.stageConfig ?? null,
    entries: [...entries].sort((a, b) => compareStrings(a.path, b.path)),
  } as const;
  return { ...unsigned, hmac: computeHmac(unsigned, key) };
}

/**
 * Signs the assembly at `assemblyDir`: writes guardrail-attestation.json at its root,
 * through a new temporary file and a rename (never through an existing symlink or FIFO).
 */
export function writeAttestation(assemblyDir: string, key: GuardrailKey, options: SignOptions): Attestation {
  const attestation = createAttestation(assemblyDir, key, options);
  writeFileSafely(join(realRoot(assemblyDir), ATTESTATION_FILE), `${JSON.stringify(attestation, null, 1)}\n`);
  return attestation;
}

/**
 * Writes `content` to `file` without ever writing through what is there: an existing
 * symlink, FIFO or other non-regular entry is refused (left untouched); the bytes go
 * to a fresh temporary file (O_EXCL | O_NOFOLLOW) renamed over the target.
 */
export function writeFileSafely(file: string, content: string): void {
  let existing;
  try {
    existing = lstatSync(file);
  } catch {
    existing = undefined;
  }
  if (existing && !existing.isFile()) {
    throw new UnusableInputError(`${file} is a ${typeName(existing)}: refusing to write through or over it`);
  }
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    writeSync(fd, content);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temp);
    throw error;
  }
  closeSync(fd);
  renameSync(temp, file);
}

/** Reads and validates guardrail-attestation.json (inspected before opening, capped). */
export function readAttestation(assemblyDir: string): Attestation {
  const root = realRoot(assemblyDir);
  const found = resolveInside(root, ATTESTATION_FILE);
  if (!found) {
    throw new AttestationFormatError(`${ATTESTATION_FILE} is missing from ${assemblyDir}: the assembly was not signed`);
  }
  let data: unknown;
  try {
    data = readJson(found.real, ATTESTATION_FILE);
  } catch (error) {
    if (error instanceof SyntaxError) throw new AttestationFormatError(error.message);
    throw error;
  }
  const result = attestationSchema.safeParse(data);
  if (!result.success) {
    throw new AttestationFormatError(
      `${ATTESTATION_FILE} is malformed: ${z.prettifyError(result.error).replace(/\n/g, '; ')}`,
    );
  }
  return result.data as Attestation;
}
