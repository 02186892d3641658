// Base64 read strictly. Node's Buffer.from(s, 'base64') skips characters it does not know and
// mixes both alphabets, so two different strings can decode to the same bytes; here a string is
// accepted only when it is the one canonical encoding of its bytes in one alphabet (RFC 4648):
// standard (`+/`, padded) or URL-safe (`-_`, padded or not), which DSSE verifiers must both
// accept (DSSE protocol.md: "Either standard or URL-safe base64 encodings are allowed").

/** Decodes `text`, or returns undefined when it is not canonical base64. */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    const bytes = Buffer.from(text, 'base64');
    return bytes.toString('base64') === text ? bytes : undefined;
  }
  if (/^[A-Za-z0-9_-]*={0,2}$/.test(text)) {
    const bytes = Buffer.from(text, 'base64url');
    const unpadded = bytes.toString('base64url');
    const padded = unpadded + '='.repeat((4 - (unpadded.length % 4)) % 4);
    return text === unpadded || text === padded ? bytes : undefined;
  }
  return undefined;
}
