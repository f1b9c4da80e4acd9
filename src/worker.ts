import 'reflect-metadata';
import { createServer } from 'node:http';
import { loadConfig } from './config/app-config';
import { prepareDatabase, startWorker } from './bootstrap';
import { Registry } from 'prom-client';
import { exposition } from './metrics/metrics.module';

/**
 * Entry point of a queue worker on its own: operation steps, status sync, probes, sweeper. With
 * PADDOCK_WORKER_METRICS_PORT set it serves its own `/metrics` (job outcomes, Rancher calls,
 * sync durations live in this process, not in the API's) and `/healthz` for a liveness probe.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  await prepareDatabase(config);
  const worker = await startWorker(config);
  const metrics =
    config.workerMetricsPort > 0
      ? createServer((req, res) => {
          if (req.url === '/healthz') {
            // Answering proves the event loop turns; a wedged worker stops answering and is restarted.
            res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
            return;
          }
          if (req.url !== '/metrics') {
            res.writeHead(404).end();
            return;
          }
          void exposition(worker.get(Registry)).then((body) =>
            res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body),
          );
        }).listen(config.workerMetricsPort)
      : null;
  const stop = () => {
    metrics?.close();
    void worker.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
