// What a command hands back: the data (printed as JSON with --json), the text people read, and the
// exit code. Progress goes to stderr, so stdout stays the result alone.

export interface Result {
  readonly data: unknown;
  readonly text: string;
  readonly exitCode: number;
}

/** Exit codes (docs/operations.md). */
export const EXIT = { ok: 0, unhealthy: 1, failed: 1, usage: 2, notConfirmed: 3 } as const;

export interface Io {
  readonly json: boolean;
  /** A line of progress on stderr (long waits). */
  progress(line: string): void;
  /** A line of output streamed as it comes (logs --follow): stdout, JSON lines with --json. */
  stream(line: string, data: unknown): void;
  readonly env: NodeJS.ProcessEnv;
  /** Poll interval of waits, in ms (OPS_POLL_MS; tests make it short). */
  readonly pollMs: number;
  readonly now: () => Date;
}

export function createIo(json: boolean, env: NodeJS.ProcessEnv): Io {
  const pollMs = Number(env.OPS_POLL_MS ?? 5000);
  return {
    json,
    env,
    pollMs: Number.isFinite(pollMs) && pollMs > 0 ? pollMs : 5000,
    now: () => new Date(),
    progress: (line) => process.stderr.write(`… ${line}\n`),
    stream: (line, data) => process.stdout.write(`${json ? JSON.stringify(data) : line}\n`),
  };
}

/** `2026-11-27 10:42:07Z` */
export function time(date: Date | undefined): string {
  return date ? `${date.toISOString().slice(0, 19).replace('T', ' ')}Z` : '-';
}

/** `1 h 02 min`, `42 min`, `35 s` */
export function duration(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
  return `${Math.round(hours / 24)} d`;
}

/** The first 7 characters of a commit id. */
export function short(commit: string | undefined): string {
  return commit ? commit.slice(0, 7) : '?';
}
