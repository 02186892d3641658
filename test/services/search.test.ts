import { describe, expect, it } from 'vitest';
import { loadSeed as loadDataset } from '../../services/shared/dataset';
import { strongEtag } from '../../services/api/src/http-cache';
import { SearchIndex, tokenize } from '../../services/api/src/search-index';

describe('the search index', () => {
  const records = loadDataset();
  const index = new SearchIndex(records);

  it('loads the shipped dataset: a few thousand records with unique ids', () => {
    expect(records.length).toBeGreaterThanOrEqual(2_000);
    expect(new Set(records.map((record) => record.id)).size).toBe(records.length);
  });

  it('tokenizes case- and punctuation-insensitively', () => {
    expect(tokenize('Air-Quality, 2024!')).toEqual(['air', 'quality', '2024']);
  });

  it('matches records containing every term (AND), in id order, and counts them all', () => {
    const text = (record: (typeof records)[number]) =>
      tokenize([record.name, record.category, record.region, String(record.year), ...record.tags, record.description].join(' '));
    const both = records.filter((record) => text(record).includes('wind') && text(record).includes('north'));
    const { total, results } = index.search('wind north', 100);
    expect(both.length).toBeGreaterThan(0);
    expect(total).toBe(both.length);
    expect(results.map((record) => record.id)).toEqual(both.map((record) => record.id).slice(0, 100));
    // More terms narrow the results; a term no record has empties them.
    expect(index.search('wind', 100).total).toBeGreaterThan(total);
    expect(index.search('wind north zzzz', 10)).toEqual({ total: 0, results: [] });
    expect(index.search('North, WIND!', 100)).toEqual({ total, results });
  });

  it('honours the limit and finds nothing for unknown terms', () => {
    expect(index.search('rainfall', 3).results).toHaveLength(3);
    expect(index.search('zzzz', 10)).toEqual({ total: 0, results: [] });
  });
});

describe('the ETag', () => {
  it('is strong and changes with the body', () => {
    expect(strongEtag('{"a":1}')).toMatch(/^"[\w-]{32}"$/);
    expect(strongEtag('{"a":1}')).toBe(strongEtag('{"a":1}'));
    expect(strongEtag('{"a":1}')).not.toBe(strongEtag('{"a":2}'));
  });
});
