// Plain HTTP through Node's fetch, timed, with a timeout on every request.

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  /** Time to the complete body. */
  readonly ms: number;
}

export const REQUEST_TIMEOUT_MS = 10_000;

export async function request(url: string, init: RequestInit = {}): Promise<HttpAnswer> {
  const started = performance.now();
  const response = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const body = await response.text();
  return { status: response.status, body, ms: Math.round(performance.now() - started) };
}

