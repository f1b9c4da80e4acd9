import 'reflect-metadata';
import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { loadConfig } from './config/app-config';
import { prepareDatabase, startApi, startWorker } from './bootstrap';
import { startEmbeddedS3 } from './dev/embedded-s3';
import { startSimulatedBackends } from './dev/simulated-backends';

/**
 * Entry point of the HTTP API. With `PADDOCK_ROLE=all` (the default) the worker runs in the same
 * process, and outside production `PADDOCK_SIMULATORS` simulated Rancher backends are started and
 * registered, so `npm start` alone shows a cluster go from provisioning to active.
 */
async function main(): Promise<void> {
  const closers: Array<() => Promise<unknown>> = [];
  // Stores the others write to close after them.
  const closeLast: Array<() => Promise<unknown>> = [];
  let config = loadConfig();
  // Outside production, backups without an S3 endpoint go to an embedded store (like the
  // simulators, for `npm start` alone); loadConfig refuses this case in production. Only a process
  // that is both API and worker starts one: a worker elsewhere could not reach it.
  if (
    config.env !== 'production' &&
    config.role === 'all' &&
    process.env.PADDOCK_BACKUPS !== 'off' &&
    !process.env.PADDOCK_S3_ENDPOINT
  ) {
    const s3 = await startEmbeddedS3({ port: 9600 });
    closeLast.push(() => s3.close());
    process.env.PADDOCK_S3_ENDPOINT = s3.endpoint;
    process.env.PADDOCK_S3_REGION = s3.region;
    process.env.PADDOCK_S3_ACCESS_KEY_ID = s3.accessKeyId;
    process.env.PADDOCK_S3_SECRET_ACCESS_KEY = s3.secretAccessKey;
    config = loadConfig();
    console.log(`embedded S3 store at ${s3.endpoint} (data in ${s3.directory})`);
  }
  const applied = await prepareDatabase(config);
  if (applied.length > 0) console.log(`applied migrations: ${applied.join(', ')}`);

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
      for (const close of [...closers, ...closeLast]) await close().catch((e: unknown) => console.error(e));
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
