// Types the remaining guardrail logic (compare.ts, parity.ts) shares; they outlived the HMAC
// attestation they were part of (issue 19). C3/C4 move this logic into enforcement/.
import type { CoveredKind, CoveredPath } from './coverage.ts';
import type { DirectoryMember } from './digest.ts';

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

/** A covered path whose file is not on disk. */
export interface MissingPath extends CoveredPath {}

/** The per-stage configuration (`context.<stage>` of cdk.json), for structural parity. */
export interface StageConfig {
  readonly staging: unknown;
  readonly production: unknown;
}
