import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashDirectory, hashPath, type HashContext, sha256File } from '../../pipeline/guardrail/digest.js';
import { ReadBudget, UnusableInputError } from '../../pipeline/guardrail/safe-fs.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const made: string[] = [];

/** A temp directory (a real path) holding `files` (path → content). */
function tree(files: Record<string, string>): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'guardrail-digest-')));
  made.push(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

const context = (root: string): HashContext => ({ root, budget: new ReadBudget() });
const digestOf = (dir: string) => hashDirectory(dir, 'asset', context(dir));

afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('hashDirectory', () => {
  it('hashes a length-prefixed encoding of the members sorted by path bytes', () => {
    const dir = tree({ 'b.txt': 'bee', 'a/z.txt': 'zed', 'a/b.txt': 'a-bee' });
    const digest = digestOf(dir);
    expect(digest.members?.map((m) => m.path)).toEqual(['a/b.txt', 'a/z.txt', 'b.txt']);
    const hash = createHash('sha256').update('br-fagq2.guardrail.directory.v2\0');
    for (const [path, content] of [['a/b.txt', 'a-bee'], ['a/z.txt', 'zed'], ['b.txt', 'bee']] as const) {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(Buffer.byteLength(path));
      hash.update('f').update(length).update(path).update(Buffer.from(sha256(content), 'hex'));
    }
    expect(digest.sha256).toBe(hash.digest('hex'));
  });

  it('does not depend on creation order', () => {
    expect(digestOf(tree({ 'x/1': '1', 'y/2': '2', z: '3' })).sha256).toBe(digestOf(tree({ z: '3', 'y/2': '2', 'x/1': '1' })).sha256);
  });

  it('changes when a byte, a name, an added file or a removed file changes', () => {
    const base = digestOf(tree({ 'a.txt': 'hello', 'sub/b.txt': 'world' })).sha256;
    expect(digestOf(tree({ 'a.txt': 'hellO', 'sub/b.txt': 'world' })).sha256).not.toBe(base);
    expect(digestOf(tree({ 'A.txt': 'hello', 'sub/b.txt': 'world' })).sha256).not.toBe(base);
    expect(digestOf(tree({ 'a.txt': 'hello', 'sub/b.txt': 'world', c: '' })).sha256).not.toBe(base);
    expect(digestOf(tree({ 'a.txt': 'hello' })).sha256).not.toBe(base);
  });

  it('cannot be collided by a file name holding a newline (two files replaced by one crafted name)', () => {
    // With a "<type> <sha256> <path>\n" listing, one file named "a\nfile <sha256(b)> b" holding a's
    // bytes listed exactly like the two files a and b.
    const honest = tree({ a: 'x', b: 'y' });
    const forged = tree({ [`a\nfile ${sha256('y')} b`]: 'x' });
    expect(digestOf(forged).sha256).not.toBe(digestOf(honest).sha256);
    expect(digestOf(forged).members?.map((m) => m.path)).toEqual([`a\nfile ${sha256('y')} b`]);
  });

  it('hashes a symlink inside the tree as its link text without following it', () => {
    const dir = tree({ 'target.txt': 'content' });
    symlinkSync('target.txt', join(dir, 'link'));
    const link = digestOf(dir).members?.find((m) => m.path === 'link');
    expect(link).toEqual({ path: 'link', type: 'symlink', sha256: sha256('target.txt') });
  });

  it('refuses a symlink that leaves the assembly: a link to /dev/zero is never read', () => {
    const dir = tree({ 'a.txt': 'a' });
    symlinkSync('/dev/zero', join(dir, 'zero'));
    expect(() => digestOf(dir)).toThrow(UnusableInputError);
    expect(() => digestOf(dir)).toThrow(/asset\/zero: a symlink to "\/dev\/zero", outside the assembly/);
  });
});

describe('limits', () => {
  it('refuses more entries or bytes than the run allows, with a clear message', () => {
    const dir = tree({ a: '1', 'sub/b': '2', c: '3' });
    const run = (limits: { entries: number; totalBytes: number }) => hashDirectory(dir, 'asset', { root: dir, budget: new ReadBudget(limits) });
    expect(() => run({ entries: 3, totalBytes: 100 })).toThrow(/more than 3 entries to hash: refusing \(limit\)/); // a, sub, sub/b, c
    expect(() => run({ entries: 10, totalBytes: 2 })).toThrow(/more than 2 bytes to hash: refusing \(limit\)/);
    expect(run({ entries: 4, totalBytes: 3 }).members).toHaveLength(3);
  });
});

describe('hashPath', () => {
  it('hashes a file as the SHA-256 of its bytes', () => {
    const dir = tree({ 'f.json': '{"a":1}' });
    expect(hashPath(join(dir, 'f.json'), 'f.json', context(dir))).toEqual({ type: 'file', sha256: sha256('{"a":1}') });
    expect(sha256File(join(dir, 'f.json'))).toBe(sha256('{"a":1}'));
  });

  it('refuses a character device', () => {
    expect(() => hashPath('/dev/zero', 'zero', context('/'))).toThrow(/zero: is a character device: the guardrail refuses to read it/);
  });
});
