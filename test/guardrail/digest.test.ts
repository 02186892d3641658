import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashDirectory, hashPath, sha256File } from '../../pipeline/guardrail/digest.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const made: string[] = [];

/** A temp directory holding `files` (path → content). */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'guardrail-digest-'));
  made.push(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('hashDirectory', () => {
  it('hashes the sorted listing of "<type> <sha256> <path>" lines', () => {
    const dir = tree({ 'b.txt': 'bee', 'a/z.txt': 'zed', 'a/b.txt': 'a-bee' });
    const digest = hashDirectory(dir);
    const listing = [
      `file ${sha256('a-bee')} a/b.txt\n`,
      `file ${sha256('zed')} a/z.txt\n`,
      `file ${sha256('bee')} b.txt\n`,
    ];
    expect(digest.members?.map((m) => m.path)).toEqual(['a/b.txt', 'a/z.txt', 'b.txt']);
    expect(digest.sha256).toBe(sha256(listing.join('')));
  });

  it('does not depend on creation order', () => {
    const one = tree({ 'x/1': '1', 'y/2': '2', z: '3' });
    const two = tree({ z: '3', 'y/2': '2', 'x/1': '1' });
    expect(hashDirectory(one).sha256).toBe(hashDirectory(two).sha256);
  });

  it('changes when a byte, a name, an added file or a removed file changes', () => {
    const base = hashDirectory(tree({ 'a.txt': 'hello', 'sub/b.txt': 'world' })).sha256;
    expect(hashDirectory(tree({ 'a.txt': 'hellO', 'sub/b.txt': 'world' })).sha256).not.toBe(base);
    expect(hashDirectory(tree({ 'a2.txt': 'hello', 'sub/b.txt': 'world' })).sha256).not.toBe(base);
    expect(hashDirectory(tree({ 'a.txt': 'hello', 'sub/b.txt': 'world', c: '' })).sha256).not.toBe(base);
    expect(hashDirectory(tree({ 'a.txt': 'hello' })).sha256).not.toBe(base);
    // Moving a file to another folder keeps its bytes but changes the path: a different digest.
    expect(hashDirectory(tree({ 'sub/a.txt': 'hello', 'b.txt': 'world' })).sha256).not.toBe(base);
  });

  it('hashes a symlink as its link text and never follows it', () => {
    const outside = tree({ 'secret.txt': 'outside the asset' });
    const dir = tree({ 'a.txt': 'hello' });
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'link'));
    const digest = hashDirectory(dir);
    expect(digest.members).toContainEqual({
      path: 'link',
      type: 'symlink',
      sha256: sha256(join(outside, 'secret.txt')),
    });
    writeFileSync(join(outside, 'secret.txt'), 'changed target content');
    expect(hashDirectory(dir).sha256).toBe(digest.sha256);
  });

  it('ignores empty directories', () => {
    const dir = tree({ 'a.txt': 'hello' });
    const before = hashDirectory(dir).sha256;
    mkdirSync(join(dir, 'empty'));
    expect(hashDirectory(dir).sha256).toBe(before);
  });
});

describe('hashPath', () => {
  it('hashes a file as the SHA-256 of its bytes', () => {
    const dir = tree({ 'f.bin': 'content' });
    expect(hashPath(join(dir, 'f.bin'))).toEqual({ type: 'file', sha256: sha256('content') });
    expect(sha256File(join(dir, 'f.bin'))).toBe(sha256('content'));
  });

  it('hashes a file larger than one read chunk', () => {
    const big = 'x'.repeat((1 << 20) * 2 + 17);
    const dir = tree({ big });
    expect(sha256File(join(dir, 'big'))).toBe(sha256(big));
  });
});
