import type { DatasetRecord } from '../../shared/dataset.ts';

export interface SearchResult {
  /** How many records match every query term. */
  readonly total: number;
  /** The first `limit` of them, by id. */
  readonly results: readonly DatasetRecord[];
}

/** Lower-cased runs of letters and digits. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** An inverted index (term → records) built once at start; queries never scan the dataset. */
export class SearchIndex {
  private readonly postings = new Map<string, number[]>();
  private readonly records: readonly DatasetRecord[];

  constructor(records: readonly DatasetRecord[]) {
    this.records = records;
    records.forEach((record, position) => {
      // Deploy-check probes are found by their exact id only: no user query shows them.
      if (record.probe) return this.add(record.id.toLowerCase(), position);
      const text = [record.name, record.category, record.region, String(record.year), ...record.tags, record.description];
      for (const term of new Set(tokenize(text.join(' ')))) this.add(term, position);
    });
  }

  private add(term: string, position: number): void {
    const list = this.postings.get(term);
    if (list) list.push(position);
    else this.postings.set(term, [position]);
  }

  get size(): number {
    return this.records.length;
  }

  /**
   * The records that contain every term of the query (AND, as a search box with several words is
   * expected to narrow the results), in id order. A query without any term matches nothing.
   */
  search(query: string, limit: number): SearchResult {
    const terms = [...new Set(tokenize(query))];
    // Intersect from the shortest posting list: every later step only shrinks it.
    const lists = terms.map((term) => this.postings.get(term) ?? []).sort((a, b) => a.length - b.length);
    let matches = lists[0] ?? [];
    for (const list of lists.slice(1)) {
      const members = new Set(list);
      matches = matches.filter((position) => members.has(position));
    }
    // Positions follow id order (the file is sorted by id).
    return {
      total: matches.length,
      results: matches.slice(0, limit).map((position) => this.records[position]!),
    };
  }
}
