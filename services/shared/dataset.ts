// The searchable dataset and where it lives in the stage's data bucket:
//
//   raw/**.json                  source records: JSON arrays of records (anyone with write access adds files)
//   raw/_probe/**.json           probe records of the deploy checks: searchable by their id only
//   snapshots/built/<id>.json    a built dataset (immutable; one per rebuild job: the id is the job id)
//   snapshots/current.json       the pointer: which snapshot the API serves
//
// The rebuild job (worker) reads the seed shipped in the images plus raw/, writes a snapshot, then
// moves the pointer; the API polls the pointer and swaps its index without a restart.
// Rollback safety: snapshots and the pointer carry a format version `v`; changes are additive and
// readers ignore fields they do not know (see jobs.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';

// The S3 client module, loaded on first use: a worker that runs no dataset job never loads it
// (about 0.4 s of CPU at every start).
let s3Sdk: Promise<typeof import('@aws-sdk/client-s3')> | undefined;
const loadS3Sdk = () => (s3Sdk ??= import('@aws-sdk/client-s3'));

export interface DatasetRecord {
  readonly id: string;
  readonly name: string;
  readonly category: string;
  readonly region: string;
  readonly year: number;
  readonly tags: readonly string[];
  readonly description: string;
  /** A deploy-check record: indexed under its id only, so no user query finds it. */
  readonly probe?: boolean;
}

export const RAW_PREFIX = 'raw/';
export const PROBE_PREFIX = 'raw/_probe/';
export const SNAPSHOT_PREFIX = 'snapshots/';
export const BUILT_PREFIX = 'snapshots/built/';
export const POINTER_KEY = 'snapshots/current.json';
/** The newest snapshot and pointer format this code writes. */
export const DATASET_FORMAT = 1;

export interface Snapshot {
  readonly v: number;
  readonly id: string;
  /** When the rebuild listed its sources (ISO 8601). */
  readonly builtAt: string;
  readonly records: readonly DatasetRecord[];
}

export interface SnapshotPointer {
  readonly v: number;
  readonly id: string;
  readonly key: string;
  readonly builtAt: string;
  readonly recordCount: number;
}

/** The seed shipped with both images (services/shared/seed/records.json). */
export const SEED_FILE = join(import.meta.dirname, 'seed', 'records.json');

export function loadSeed(file = SEED_FILE): DatasetRecord[] {
  return parseRecords(readFileSync(file, 'utf8'), file);
}

/** Parses a JSON array of records; throws naming `source` and the first bad record. */
export function parseRecords(text: string, source: string): DatasetRecord[] {
  const records: unknown = JSON.parse(text);
  if (!Array.isArray(records)) throw new Error(`${source}: expected a JSON array of records`);
  records.forEach((record: Partial<DatasetRecord> | null, index) => {
    const ok =
      typeof record?.id === 'string' &&
      /^[\w.-]{1,128}$/.test(record.id) &&
      typeof record.name === 'string' &&
      typeof record.category === 'string' &&
      typeof record.region === 'string' &&
      typeof record.year === 'number' &&
      Array.isArray(record.tags) &&
      typeof record.description === 'string';
    if (!ok) throw new Error(`${source}: record ${index} needs id (letters, digits, . _ -), name, category, region, year, tags, description`);
  });
  return records as DatasetRecord[];
}

/** S3 access to the data bucket, configured by the SDK's environment (AWS_ENDPOINT_URL_S3 locally). */
export class DataBucket {
  readonly bucket: string;
  private s3: S3Client | undefined;

  /** @param s3 the client to use; by default one from the SDK's environment, made on first use. */
  constructor(bucket: string, s3?: S3Client) {
    this.bucket = bucket;
    this.s3 = s3;
  }

  private async client() {
    const sdk = await loadS3Sdk();
    this.s3 ??= new sdk.S3Client({});
    return { s3: this.s3, sdk };
  }

  /** Every raw record file, in key order. */
  async listRaw(): Promise<string[]> {
    const { s3, sdk } = await this.client();
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: RAW_PREFIX, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key?.endsWith('.json')) keys.push(object.Key);
      token = page.NextContinuationToken;
    } while (token);
    return keys.sort();
  }

  async getText(key: string): Promise<string | undefined> {
    const { s3, sdk } = await this.client();
    try {
      const object = await s3.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await object.Body!.transformToString();
    } catch (error) {
      if (error instanceof sdk.NoSuchKey || (error instanceof sdk.S3ServiceException && error.$metadata.httpStatusCode === 404)) return undefined;
      throw error;
    }
  }

  async putJson(key: string, value: unknown): Promise<void> {
    const { s3, sdk } = await this.client();
    await s3.send(new sdk.PutObjectCommand({ Bucket: this.bucket, Key: key, Body: JSON.stringify(value), ContentType: 'application/json' }));
  }

  /**
   * The pointer, or undefined before the first pipeline run. Listed first: without s3:ListBucket,
   * S3 answers a GetObject of a missing key 403, not 404 (GetObject API reference), and the roles
   * may list only this key (and raw/), never the whole bucket.
   */
  async pointer(): Promise<SnapshotPointer | undefined> {
    const { s3, sdk } = await this.client();
    const listed = await s3.send(new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: POINTER_KEY, MaxKeys: 1 }));
    if (!listed.Contents?.some((object) => object.Key === POINTER_KEY)) return undefined;
    const text = await this.getText(POINTER_KEY);
    return text === undefined ? undefined : (JSON.parse(text) as SnapshotPointer);
  }

  async snapshot(pointer: SnapshotPointer): Promise<Snapshot> {
    const text = await this.getText(pointer.key);
    if (text === undefined) throw new Error(`snapshot ${pointer.key} named by the pointer is missing`);
    const snapshot = JSON.parse(text) as Snapshot;
    return { ...snapshot, records: parseRecords(JSON.stringify(snapshot.records), pointer.key) };
  }

  destroy(): void {
    this.s3?.destroy();
  }
}
