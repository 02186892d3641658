// The production hook's decision, as the rehearsal asks it: does the hook admit this template for
// this (account, region, stack name)? A tiny adapter, so the hook's own decision logic
// (enforcement/hook/decide.ts, asynchronous, on signed envelopes) can stand in for the contract's
// model below once it is merged: the rehearsal depends on this interface only.
import { createHash } from 'node:crypto';

/** What the hook receives of one stack operation that the rehearsal models. */
export interface HookInput {
  readonly account: string;
  readonly region: string;
  readonly stackName: string;
  /** The template's raw bytes, as CloudFormation hands them to the hook. */
  readonly template: Buffer;
}

/** The hook's answer. */
export interface HookAnswer {
  readonly admitted: boolean;
  readonly detail: string;
}

/** A production hook, as the rehearsal sees it. */
export interface HookModel {
  admits(input: HookInput): HookAnswer;
}

/** The hex sha256 of raw bytes (the digest an attestation's template subject names). */
export function sha256Hex(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Where an attestation of a template is stored: the contract's object key. */
export function attestationKey(account: string, region: string, stackName: string, sha256: string): string {
  return `attestations/${account}/${region}/${stackName}/${sha256}.dsse.json`;
}

/**
 * The contract's model of the hook: it admits a template when an attestation is stored under the
 * key of its (account, region, stack name, sha256 of its raw bytes), and refuses everything
 * else. (The real hook also verifies the envelope's signature, expiry and revocation.)
 */
export function attestationHook(attested: ReadonlySet<string>): HookModel {
  return {
    admits({ account, region, stackName, template }) {
      const key = attestationKey(account, region, stackName, sha256Hex(template));
      return attested.has(key)
        ? { admitted: true, detail: `attested (${key})` }
        : { admitted: false, detail: `no attestation for ${account}/${region}/${stackName} with this template's digest (${key.split('/').pop()!.slice(0, 12)}…)` };
    },
  };
}
