import { loadSeed, type DataBucket, type SnapshotPointer } from '../../shared/dataset.ts';
import { SearchIndex } from './search-index.ts';

/** What GET /v1/dataset reports: the snapshot being served. */
export interface ServedDataset {
  /** The snapshot id, or "seed" before the first rebuild. */
  readonly snapshot: string;
  /** When the rebuild listed its sources; undefined for the seed. */
  readonly builtAt: string | undefined;
  readonly records: number;
  /** When this API process started serving it. */
  readonly loadedAt: string;
}

export interface DatasetSourceOptions {
  readonly data: DataBucket;
  /** How often the pointer is read. */
  readonly reloadSeconds: number;
  /** Called on each swap and each failed reload (logging). */
  readonly onEvent?: (event: string, fields: Record<string, unknown>) => void;
}

/**
 * The search index of the newest snapshot: loaded at start (the seed shipped in the image until
 * the first rebuild has run), then the pointer is read every `reloadSeconds` and a new snapshot is
 * swapped in without a restart. A failed reload keeps serving what is loaded.
 */
export class DatasetSource {
  private index: SearchIndex;
  private served: ServedDataset;
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;
  private readonly options: DatasetSourceOptions;

  constructor(options: DatasetSourceOptions) {
    this.options = options;
    const seed = loadSeed();
    this.index = new SearchIndex(seed);
    this.served = { snapshot: 'seed', builtAt: undefined, records: seed.length, loadedAt: new Date().toISOString() };
  }

  get current(): { readonly index: SearchIndex; readonly served: ServedDataset } {
    return { index: this.index, served: this.served };
  }

  /** The first load (awaited before listening), then the periodic reload. */
  async start(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => void this.reload(), this.options.reloadSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Reads the pointer and swaps the snapshot in when it changed. One reload at a time. */
  reload(): Promise<void> {
    this.reloading ??= this.load().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private async load(): Promise<void> {
    await this.swap();
    // Every tick: the freshness alarm's metric (a metric filter on this line).
    const ageSeconds = this.ageSeconds();
    if (ageSeconds !== undefined) this.options.onEvent?.('dataset.age', { snapshot: this.served.snapshot, ageSeconds });
  }

  private async swap(): Promise<void> {
    let pointer: SnapshotPointer | undefined;
    try {
      pointer = await this.options.data.pointer();
      if (!pointer || pointer.id === this.served.snapshot) return;
      const snapshot = await this.options.data.snapshot(pointer);
      this.index = new SearchIndex(snapshot.records);
      this.served = { snapshot: snapshot.id, builtAt: snapshot.builtAt, records: snapshot.records.length, loadedAt: new Date().toISOString() };
      this.options.onEvent?.('dataset.loaded', { ...this.served });
    } catch (error) {
      this.options.onEvent?.('dataset.reload_failed', { pointer: pointer?.key, reason: error instanceof Error ? error.message : String(error) });
    }
  }

  /** Seconds since the served snapshot was built (the freshness alarm's metric); undefined for the seed. */
  ageSeconds(now = Date.now()): number | undefined {
    return this.served.builtAt === undefined ? undefined : Math.round((now - Date.parse(this.served.builtAt)) / 1000);
  }
}
