// Verifies a guardrail attestation offline, with nothing but the public key:
//   node enforcement/verify-attestation.ts <envelope.json> --key <public.pem> [--key <other.pem>]
//        [--keyid <id>] [--template <template.json> --stack <account:region:stackName>]
// It checks the DSSE signature and the statement as the hook does (same code), prints what the
// release attests, and with --template/--stack says whether that template file is attested for
// that stack. Exit 0: verified (and attested); 1: refused, with why; 2: wrong usage.
// Without --keyid, a key is tried for whatever keyid the envelope names (the keyid is only a
// hint, DSSE protocol.md); with --keyid, the key must be the one that keyid names.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { verifyEnvelope, type VerifiedEnvelope } from './attestation/dsse.ts';
import { AttestationError, sha256Hex, templateSubjectName } from './attestation/statement.ts';

interface Output {
  out(line: string): void;
  err(line: string): void;
}

const USAGE = 'usage: verify-attestation.ts <envelope.json> --key <public.pem> [--key <pem>] [--keyid <id>] [--template <file> --stack <account:region:stackName>]';

/** Keyids the envelope names (unverified: only to bind a key given without --keyid). */
function envelopeKeyids(text: string): string[] {
  try {
    const signatures = (JSON.parse(text) as { signatures?: { keyid?: unknown }[] }).signatures;
    return Array.isArray(signatures) ? signatures.map((s) => String(s?.keyid ?? '')) : [];
  } catch {
    return [];
  }
}

export function main(argv: readonly string[], io: Output = { out: console.log, err: console.error }, now = new Date()): number {
  let values: { key?: string[]; keyid?: string[]; template?: string; stack?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { key: { type: 'string', multiple: true }, keyid: { type: 'string', multiple: true }, template: { type: 'string' }, stack: { type: 'string' } },
    }));
  } catch (error) {
    io.err(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const keyFiles = values.key ?? [];
  if (positionals.length !== 1 || keyFiles.length === 0 || Boolean(values.template) !== Boolean(values.stack) || (values.keyid && values.keyid.length !== keyFiles.length)) {
    io.err(USAGE);
    return 2;
  }
  let envelopeText: string;
  let pems: string[];
  try {
    envelopeText = readFileSync(positionals[0]!, 'utf8');
    pems = keyFiles.map((file) => readFileSync(file, 'utf8'));
  } catch (error) {
    io.err(`REFUSED: ${(error as Error).message}`);
    return 1;
  }

  let verified: VerifiedEnvelope | undefined;
  let failure = '';
  try {
    if (values.keyid) {
      verified = verifyEnvelope(envelopeText, pems.map((publicKeyPem, i) => ({ keyid: values.keyid![i]!, publicKeyPem })));
    } else {
      const keyids = [...new Set(envelopeKeyids(envelopeText))];
      for (const publicKeyPem of pems) {
        try {
          verified = verifyEnvelope(envelopeText, keyids.length ? keyids.map((keyid) => ({ keyid, publicKeyPem })) : [{ keyid: '(none)', publicKeyPem }]);
          break;
        } catch (error) {
          if (!(error instanceof AttestationError)) throw error;
          failure = error.message;
        }
      }
    }
  } catch (error) {
    failure = (error as Error).message;
  }
  if (!verified) {
    io.err(`REFUSED: ${failure}`);
    return 1;
  }

  const { statement, keyids } = verified;
  const { predicate } = statement;
  const expired = now.getTime() >= Date.parse(predicate.expiresAt);
  io.out(`OK: the signature by ${keyids.join(', ')} verifies`);
  io.out(`release ${predicate.release.commit} (execution ${predicate.release.executionId}), verified ${predicate.timeVerified} by ${predicate.verifier.id}`);
  io.out(`policy ${predicate.policy.uri}: ${predicate.verificationResult}; expires ${predicate.expiresAt}${expired ? ' (EXPIRED: the hook refuses it)' : ''}`);
  for (const subject of statement.subject) io.out(`subject ${subject.name} sha256 ${subject.digest.sha256}`);
  for (const check of predicate.checks) io.out(`check ${check.name}: ${check.status}${check.detail ? ` (${check.detail})` : ''}`);

  if (values.template) {
    const [account, region, stackName, ...rest] = values.stack!.split(':');
    let name: string;
    try {
      if (rest.length || !account || !region || !stackName) throw new AttestationError(`--stack ${values.stack} is not <account>:<region>:<stackName>`);
      name = templateSubjectName(account, region, stackName);
    } catch (error) {
      io.err(`${(error as Error).message}\n${USAGE}`);
      return 2;
    }
    let digest: string;
    try {
      digest = sha256Hex(readFileSync(values.template));
    } catch (error) {
      io.err(`REFUSED: ${(error as Error).message}`);
      return 1;
    }
    const subject = statement.subject.find((s) => s.name === name);
    if (!subject) {
      io.err(`NOT ATTESTED: the attestation names no ${name}`);
      return 1;
    }
    if (subject.digest.sha256 !== digest) {
      io.err(`NOT ATTESTED: ${values.template} has sha256 ${digest}; the attestation names ${name} with sha256 ${subject.digest.sha256}`);
      return 1;
    }
    io.out(`OK: ${values.template} (sha256 ${digest}) is attested as ${name}`);
  }
  return 0;
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2));
