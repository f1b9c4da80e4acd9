import 'reflect-metadata';
import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { loadConfig } from './config/app-config';
import { prepareDatabase, startApi, startWorker } from './bootstrap';
import { startSimulatedBackends } from './dev/simulated-backends';

/**
 * Entry point of the HTTP API. With `PADDOCK_ROLE=all` (the default) the worker runs in the same
 * process, and outside production `PADDOCK_SIMULATORS` simulated Rancher backends are started and
 * registered, so `npm start` alone shows a cluster go from provisioning to active.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const applied = await prepareDatabase(config);
  if (applied.length > 0) console.log(`applied migrations: ${applied.join(', ')}`);

  const closers: Array<() => Promise<unknown>> = [];
  let api: INestApplication | undefined;
  let worker: INestApplicationContext | undefined;
  if (config.role !== 'worker') {
    api = await startApi(config);
    closers.push(() => api!.close());
  }
  if (config.role !== 'api') {
    worker = await startWorker(config);
    closers.push(() => worker!.close());
  }
  const apiUrl = `http://127.0.0.1:${config.port}`;
  if (api && config.simulators > 0) {
    const simulators = await startSimulatedBackends(config.simulators, apiUrl, config.adminToken);
    closers.unshift(() => Promise.all(simulators.map((s) => s.close())));
  }
  if (api) {
    console.log(`Paddock API listening on ${apiUrl} (docs: ${apiUrl}/docs)`);
    if (config.adminTokenGenerated) {
      console.log(`bootstrap admin token (set PADDOCK_ADMIN_TOKEN to keep one): ${config.adminToken}`);
    }
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    void (async () => {
      for (const close of closers) await close().catch((e: unknown) => console.error(e));
      process.exit(0);
    })();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
