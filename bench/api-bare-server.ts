// Child process of bench/api.ts: the baseline, a bare node:http server answering one fixed JSON
// body (the same bytes the API answers for the benchmark query). Prints its URL as one JSON line.
import { createServer } from 'node:http';

const body = process.env.BENCH_BODY ?? '{"ok":true}';
const server = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  response.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
