import { describe, expect, it } from 'vitest';
import { evaluateLatency, searchPath, SEARCH_TERMS } from '../../pipeline/checks/deploy/latency';
import { percentile } from '../../pipeline/checks/percentile';

describe('percentile (nearest rank)', () => {
  const oneToHundred = Array.from({ length: 100 }, (_, index) => index + 1);

  it('is the sample at rank ceil(p/100 × n) of the sorted samples', () => {
    expect(percentile(oneToHundred, 95)).toBe(95);
    expect(percentile(oneToHundred, 50)).toBe(50);
    expect(percentile(oneToHundred, 100)).toBe(100);
    // 50 samples: p95 is the 48th smallest.
    expect(percentile(Array.from({ length: 50 }, (_, index) => (index + 1) * 10), 95)).toBe(480);
  });

  it('does not depend on the order of the samples', () => {
    expect(percentile([120, 5, 7, 6, 9, 8, 11, 10, 4, 3, 2, 1, 13, 14, 15, 16, 17, 18, 19, 20], 95)).toBe(20);
    expect(percentile([300, 1, 2], 95)).toBe(300);
  });

  it('of a single sample is that sample', () => {
    expect(percentile([42], 95)).toBe(42);
  });

  it('refuses no samples and a percent outside (0, 100]', () => {
    expect(() => percentile([], 95)).toThrow(RangeError);
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe('evaluateLatency', () => {
  // 19 fast answers and one slow one: the slow one is above the p95 of 20 samples (the 19th).
  const samples = [...Array.from({ length: 19 }, (_, index) => 20 + index), 900];

  it('passes when p95 is within the budget, with the figures', () => {
    expect(evaluateLatency(samples, 38)).toEqual({ status: 'PASS', detail: 'p95 38 ms ≤ budget 38 ms (p50 29 ms, max 900 ms over 20 GET /v1/search)' });
  });

  it('fails when p95 is over the budget', () => {
    expect(evaluateLatency(samples, 37)).toEqual({ status: 'FAIL', detail: 'p95 38 ms > budget 37 ms (p50 29 ms, max 900 ms over 20 GET /v1/search)' });
  });
});

describe('searchPath', () => {
  it('varies the query so that the edge cannot answer every request from one cache entry', () => {
    const paths = Array.from({ length: 50 }, (_, n) => searchPath(n));
    expect(new Set(paths).size).toBe(50);
    expect(paths[0]).toBe(`/v1/search?q=${SEARCH_TERMS[0]}&limit=5`);
    expect(paths[2]).toBe('/v1/search?q=weather%20forecast&limit=5');
  });
});
