import 'reflect-metadata';
import { loadConfig } from './config/app-config';
import { prepareDatabase, startWorker } from './bootstrap';

/** Entry point of a queue worker on its own: operation steps, status sync, sweeper. */
async function main(): Promise<void> {
  const config = loadConfig();
  await prepareDatabase(config);
  const worker = await startWorker(config);
  const stop = () => void worker.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
