// The little of autocannon 9 that bench/api.ts uses (the package ships no types; @types/autocannon
// would be one more dependency for three fields).
declare module 'autocannon' {
  namespace autocannon {
    interface Options {
      url: string;
      connections?: number;
      duration?: number;
    }
    interface Result {
      requests: { average: number };
      latency: { p99: number };
      errors: number;
      non2xx: number;
    }
  }
  function autocannon(options: autocannon.Options): Promise<autocannon.Result>;
  export = autocannon;
}
