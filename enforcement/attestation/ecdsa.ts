// ECDSA P-256 signing of a digest the caller already computed, as AWS KMS Sign does with
// MessageType DIGEST. node:crypto cannot do this step itself: crypto.sign hashes its input
// whatever the algorithm argument says (null means SHA-256 for EC keys), so the digest would be
// hashed twice. The arithmetic below is the textbook algorithm (SEC 1 v2, section 4.1.3) with a
// fresh random nonce per signature; the output is the DER `ECDSA-Sig-Value` KMS returns
// (RFC 3279, section 2.2.3). It is for tests and local runs only (not constant-time): verifying
// is OpenSSL's (node:crypto, the openssl CLI), which checks every signature made here.
import { randomBytes } from 'node:crypto';

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const G: Point = {
  x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
};

interface Point {
  readonly x: bigint;
  readonly y: bigint;
}

const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;

function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

function add(a: Point | undefined, b: Point | undefined): Point | undefined {
  if (!a) return b;
  if (!b) return a;
  if (a.x === b.x && mod(a.y + b.y, P) === 0n) return undefined;
  const slope =
    a.x === b.x && a.y === b.y
      ? mod((3n * a.x * a.x - 3n) * inverse(2n * a.y, P), P) // curve a = -3
      : mod((b.y - a.y) * inverse(b.x - a.x, P), P);
  const x = mod(slope * slope - a.x - b.x, P);
  return { x, y: mod(slope * (a.x - x) - a.y, P) };
}

function multiply(k: bigint, point: Point): Point | undefined {
  let result: Point | undefined;
  let addend: Point | undefined = point;
  for (let rest = k; rest > 0n; rest >>= 1n) {
    if (rest & 1n) result = add(result, addend);
    addend = add(addend, addend);
  }
  return result;
}

const toBigInt = (bytes: Buffer): bigint => BigInt(`0x${bytes.toString('hex') || '0'}`);

function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
}

/** Signs a 32-byte digest with the private scalar `d`; returns the DER signature. */
export function signDigestP256(d: bigint, digest: Buffer): Buffer {
  if (digest.length !== 32) throw new Error(`an ECDSA_SHA_256 digest is 32 bytes, not ${digest.length}`);
  const e = toBigInt(digest);
  for (;;) {
    const k = toBigInt(randomBytes(32));
    if (k === 0n || k >= N) continue;
    const r = mod(multiply(k, G)!.x, N);
    const s = mod(inverse(k, N) * (e + r * d), N);
    if (r === 0n || s === 0n) continue;
    const body = Buffer.concat([derInteger(r), derInteger(s)]);
    return Buffer.concat([Buffer.from([0x30, body.length]), body]);
  }
}

/** The private scalar of a P-256 private key exported as JWK (`d`, base64url). */
export function scalarFromJwk(d: string): bigint {
  return toBigInt(Buffer.from(d, 'base64url'));
}
