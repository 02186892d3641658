import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { type AssemblyInfo, readCloudAssembly } from './assembly.js';
import { type CoveredKind, type CoveredPath, coveredPaths } from './coverage.js';
import { compareStrings, type DirectoryMember, hashPath } from './digest.js';
import { keyIdOf } from './token.js';

/** The attestation file, at the assembly root. */
export const ATTESTATION_FILE = 'guardrail-attestation.json';
export const ATTESTATION_FORMAT = 'br-fagq2.guardrail-attestation.v1';
export const ATTESTATION_ALGORITHM = 'HMAC-SHA256';

/** One covered path with its digest. */
export interface AttestedEntry {
  readonly path: string;
  readonly kind: CoveredKind;
  readonly usedBy: readonly string[];
  readonly type: 'file' | 'symlink' | 'directory';
  readonly sha256: string;
  /** For a directory: its files and symlinks, sorted by path. */
  readonly members?: readonly DirectoryMember[];
}

/** The content of guardrail-attestation.json. */
export interface Attestation {
  readonly format: typeof ATTESTATION_FORMAT;
  readonly algorithm: typeof ATTESTATION_ALGORITHM;
  /** First 16 hex characters of SHA-256(token): says which token signed, reveals nothing usable. */
  readonly keyId: string;
  readonly entries: readonly AttestedEntry[];
  /** Hex HMAC-SHA256, keyed with the token, over canonicalSerialization(the fields above). */
  readonly hmac: string;
}

/** The attestation file is missing or malformed; the message names the file. */
export class AttestationFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AttestationFormatError';
  }
}

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
  keyId: z.string().regex(/^[0-9a-f]{16}$/, 'expected 16 lowercase hex characters'),
  entries: z.array(entrySchema),
  hmac: hex64,
});

/** A covered path whose file is not on disk. */
export interface MissingPath extends CoveredPath {}

/** The covered paths of an assembly, hashed now. Throws AssemblyFormatError on unreadable manifests. */
export function computeEntries(
  root: string,
  assemblies: readonly AssemblyInfo[] = readCloudAssembly(root),
): { entries: AttestedEntry[]; missing: MissingPath[] } {
  const entries: AttestedEntry[] = [];
  const missing: MissingPath[] = [];
  for (const covered of coveredPaths(root, assemblies)) {
    const absolute = join(root, covered.path);
    if (!existsSync(absolute)) {
      missing.push(covered);
      continue;
    }
    const digest = hashPath(absolute);
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
 * The exact bytes the HMAC covers: JSON of format, algorithm, keyId and the entries, with
 * keys in a fixed order and entries sorted by path, so the same assembly always
 * serializes the same way whatever order the file's keys were written in.
 */
export function canonicalSerialization(unsigned: Omit<Attestation, 'hmac'>): string {
  const entries = [...unsigned.entries]
    .sort((a, b) => compareStrings(a.path, b.path))
    .map((e) => ({
      path: e.path,
      kind: e.kind,
      usedBy: [...e.usedBy],
      type: e.type,
      sha256: e.sha256,
      ...(e.members ? { members: e.members.map((m) => ({ path: m.path, type: m.type, sha256: m.sha256 })) } : {}),
    }));
  return JSON.stringify({ format: unsigned.format, algorithm: unsigned.algorithm, keyId: unsigned.keyId, entries });
}

/** Hex HMAC-SHA256 of the canonical serialization, keyed with the token. */
export function computeHmac(unsigned: Omit<Attestation, 'hmac'>, token: string): string {
  return createHmac('sha256', token).update(canonicalSerialization(unsigned), 'utf8').digest('hex');
}

/** Whether the attestation's HMAC is the one `token` gives; compared in constant time. */
export function hmacMatches(attestation: Attestation, token: string): boolean {
  const expected = Buffer.from(computeHmac(attestation, token), 'hex');
  const actual = Buffer.from(attestation.hmac, 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Builds the signed attestation of the assembly at `root`. Throws if a covered file is missing. */
export function createAttestation(root: string, token: string): Attestation {
  const { entries, missing } = computeEntries(root);
  if (missing.length > 0) {
    throw new Error(
      `cannot sign ${root}: files named by its manifests are missing: ${missing.map((m) => m.path).join(', ')}`,
    );
  }
  const unsigned = {
    format: ATTESTATION_FORMAT,
    algorithm: ATTESTATION_ALGORITHM,
    keyId: keyIdOf(token),
    entries,
  } as const;
  return { ...unsigned, hmac: computeHmac(unsigned, token) };
}

/**
 * Signs the synthesized assembly at `assemblyDir`: writes guardrail-attestation.json at
 * its root (via a temporary file and a rename, so a crash never leaves half a file).
 * The token is only used as the HMAC key; it is never written.
 */
export function writeAttestation(assemblyDir: string, token: string): Attestation {
  const attestation = createAttestation(assemblyDir, token);
  const file = join(assemblyDir, ATTESTATION_FILE);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(attestation, null, 1)}\n`);
  renameSync(`${file}.tmp`, file);
  return attestation;
}

/** Reads and validates guardrail-attestation.json; AttestationFormatError names the file and the problem. */
export function readAttestation(assemblyDir: string): Attestation {
  const file = join(assemblyDir, ATTESTATION_FILE);
  if (!existsSync(file)) {
    throw new AttestationFormatError(`${ATTESTATION_FILE} is missing from ${assemblyDir}: the assembly was not signed`);
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new AttestationFormatError(`${ATTESTATION_FILE} is not valid JSON (${(error as Error).message})`);
  }
  const result = attestationSchema.safeParse(data);
  if (!result.success) {
    throw new AttestationFormatError(
      `${ATTESTATION_FILE} is malformed: ${z.prettifyError(result.error).replace(/\n/g, '; ')}`,
    );
  }
  return result.data;
}
