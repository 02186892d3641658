import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DatasetRecord {
  readonly id: string;
  readonly name: string;
  readonly category: string;
  readonly region: string;
  readonly year: number;
  readonly tags: readonly string[];
  readonly description: string;
}

/** The dataset shipped with the service (data/records.json, next to src/ and dist/). */
export const DATASET_FILE = join(__dirname, '..', 'data', 'records.json');

export function loadDataset(file = DATASET_FILE): DatasetRecord[] {
  const records: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(records) || records.some((record) => typeof record?.id !== 'string')) {
    throw new Error(`${file} must be a JSON array of records with an id`);
  }
  return records as DatasetRecord[];
}
