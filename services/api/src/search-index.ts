import type { DatasetRecord } from './dataset.js';

export interface SearchResult {
  /** How many records match at least one query term. */
  readonly total: number;
  /** The best `limit` records: most matched terms first, then by id. */
  readonly results: readonly DatasetRecord[];
}

/** Lower-cased runs of letters and digits. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** An inverted index (term → records) built once at start; queries never scan the dataset. */
export class SearchIndex {
  private readonly postings = new Map<string, number[]>();

  constructor(private readonly records: readonly DatasetRecord[]) {
    records.forEach((record, position) => {
      const text = [record.name, record.category, record.region, String(record.year), ...record.tags, record.description];
      for (const term of new Set(tokenize(text.join(' ')))) {
        const list = this.postings.get(term);
        if (list) list.push(position);
        else this.postings.set(term, [position]);
      }
    });
  }

  get size(): number {
    return this.records.length;
  }

  search(query: string, limit: number): SearchResult {
    const matchedTerms = new Map<number, number>();
    for (const term of new Set(tokenize(query))) {
      for (const position of this.postings.get(term) ?? []) {
        matchedTerms.set(position, (matchedTerms.get(position) ?? 0) + 1);
      }
    }
    // Positions follow id order (the file is sorted by id), so ties break by id.
    const ranked = [...matchedTerms].sort(([a, scoreA], [b, scoreB]) => scoreB - scoreA || a - b);
    return {
      total: ranked.length,
      results: ranked.slice(0, limit).map(([position]) => this.records[position]!),
    };
  }
}
