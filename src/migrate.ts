import 'reflect-metadata';
import { loadConfig } from './config/app-config';
import { prepareDatabase } from './bootstrap';

/**
 * Applies pending migrations and exits: the Kubernetes migration Job runs it before a rollout,
 * so that new pods find the schema they expect. The API and the worker still check at boot (a
 * no-op once the Job ran; an advisory lock keeps concurrent runs one at a time).
 */
async function main(): Promise<void> {
  const applied = await prepareDatabase(loadConfig());
  console.log(applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'no pending migrations');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
