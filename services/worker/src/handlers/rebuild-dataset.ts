import {
  DATASET_FORMAT,
  loadSeed,
  parseRecords,
  POINTER_KEY,
  PROBE_PREFIX,
  BUILT_PREFIX,
  type DataBucket,
  type DatasetRecord,
  type Snapshot,
  type SnapshotPointer,
} from '../../../shared/dataset.ts';
import type { RebuildDatasetPayload } from '../../../shared/jobs.ts';
import type { JobHandler } from './registry.ts';

export interface RebuildResult {
  readonly snapshot: string;
  readonly records: number;
  /** Raw files read (the seed not counted). */
  readonly sources: number;
  /** Raw files that are not valid record arrays: left out, named here. */
  readonly skipped: readonly string[];
  /** False when a newer snapshot was already served: the pointer never moves back. */
  readonly pointerMoved: boolean;
}

/**
 * The data pipeline: reads the seed (shipped in the image) and every raw/**.json file, later files
 * overriding earlier ones by record id, writes snapshots/<job id>.json, then moves the pointer to
 * it. Safe to repeat: a rerun of the same job writes the same key and points at it again.
 */
export function rebuildDatasetHandler(data: DataBucket | undefined): JobHandler<RebuildDatasetPayload, RebuildResult> {
  let seed: DatasetRecord[] | undefined;
  return async (_payload, signal, job) => {
    if (!data) throw new Error('DATA_BUCKET is not configured: cannot rebuild the dataset');
    const builtAt = new Date().toISOString();
    seed ??= loadSeed();
    const byId = new Map(seed.map((record) => [record.id, record]));
    const keys = await data.listRaw();
    const skipped: string[] = [];
    for (const key of keys) {
      signal.throwIfAborted();
      const text = await data.getText(key);
      let records: DatasetRecord[];
      try {
        records = parseRecords(text ?? '', key);
      } catch {
        skipped.push(key);
        continue;
      }
      const probe = key.startsWith(PROBE_PREFIX);
      for (const record of records) byId.set(record.id, probe ? { ...record, probe: true } : record);
    }
    const records = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const id = job.id.replace(/[^\w.-]/g, '_');
    const key = `${BUILT_PREFIX}${id}.json`;
    const snapshot: Snapshot = { v: DATASET_FORMAT, id, builtAt, records };
    signal.throwIfAborted();
    await data.putJson(key, snapshot);

    // Only forward: a slow run that listed its sources earlier never replaces a newer snapshot.
    const current = await data.pointer();
    const pointerMoved = !current || current.id === id || current.builtAt <= builtAt;
    if (pointerMoved) {
      const pointer: SnapshotPointer = { v: DATASET_FORMAT, id, key, builtAt, recordCount: records.length };
      await data.putJson(POINTER_KEY, pointer);
    }
    return { snapshot: id, records: records.length, sources: keys.length, skipped, pointerMoved };
  };
}
