/**
 * docker-compose.yml stays runnable without Docker at hand: every command built from this
 * repository names a script the build produces, and every Paddock service's environment passes
 * the configuration check the processes run at boot.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/app-config';
import { WORKER_NODE_FLAGS } from '../../src/config/worker-node-flags';

const ROOT = join(__dirname, '..', '..', '..');

interface Service {
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
}

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, Service>;
  };

  it('runs scripts the build produces', () => {
    const built = Object.entries(compose.services).filter(([, s]) => s.build === '.');
    assert.ok(built.length >= 5);
    for (const [name, service] of built) {
      const script = service.command?.find((arg) => !arg.startsWith('-') && arg !== 'node') ?? '';
      assert.equal(service.command?.[0], 'node', name);
      assert.ok(existsSync(join(ROOT, script)), `${name}: ${script} exists after npm run build`);
    }
  });

  it("starts the worker, and the image's default all-in-one process, with the worker's heap flags", () => {
    assert.deepEqual(compose.services.worker.command, ['node', ...WORKER_NODE_FLAGS, 'dist/src/worker.js']);
    const cmd = /^CMD (.+)$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1] ?? '';
    assert.deepEqual(JSON.parse(cmd), ['node', ...WORKER_NODE_FLAGS, 'dist/src/main.js']);
  });

  it('gives the API, the worker and the migration a configuration they accept', () => {
    for (const name of ['api', 'worker', 'migrate']) {
      const env = compose.services[name].environment ?? {};
      assert.doesNotThrow(() => loadConfig(env), name);
      assert.ok(env.DATABASE_URL?.includes('@postgres:'), `${name} uses the compose Postgres`);
    }
  });
});
