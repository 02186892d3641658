// Child process of bench/worker.ts: the SQS emulator on its own core, so that it does not share an
// event loop with the consumers being measured. Prints its endpoint as one JSON line.
import { startSqsEmulator } from '../services/sqs-emulator.ts';

startSqsEmulator().then((emulator) => {
  process.stdout.write(`${JSON.stringify({ endpoint: emulator.endpoint })}\n`);
  process.once('SIGTERM', () => void emulator.stop().then(() => process.exit(0)));
});
