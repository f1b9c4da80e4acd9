import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { RunningSimulator } from '../../sim/simulator';

/** Flavors every simulated backend offers, each backed by a node template of the same name. */
export const SIMULATED_FLAVORS = ['m1.small', 'm1.large', 'm1.xlarge'];
const FIRST_PORT = 9555;
const REGIONS = ['tokyo', 'osaka', 'seoul', 'taipei'];
const TOKEN_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

const randomToken = () =>
  `token-${Array.from(randomBytes(5), (b) => TOKEN_ALPHABET[b % TOKEN_ALPHABET.length]).join('')}:` +
  Array.from(randomBytes(54), (b) => TOKEN_ALPHABET[b % TOKEN_ALPHABET.length]).join('');

/**
 * Development only: starts `count` Rancher simulators in this process and registers them through
 * Paddock's own admin API, as an SRE would. A backend already registered from an earlier run is
 * updated with the new simulator's token and node template ids (a simulator keeps nothing).
 */
export async function startSimulatedBackends(
  count: number,
  apiUrl: string,
  adminToken: string,
): Promise<RunningSimulator[]> {
  const logger = new Logger('SimulatedBackends');
  const { startSimulator } = await import('../../sim/simulator');
  const simulators: RunningSimulator[] = [];
  for (let i = 0; i < count; i++) {
    const sim = await startSimulator({
      port: FIRST_PORT + i,
      token: randomToken(),
      nodeTemplates: SIMULATED_FLAVORS.map((name) => ({ name })),
    }).catch(() =>
      // The fixed port is taken (another Paddock running?): take any free one.
      startSimulator({
        port: 0,
        token: randomToken(),
        nodeTemplates: SIMULATED_FLAVORS.map((name) => ({ name })),
      }),
    );
    simulators.push(sim);
    const name = `sim-${i + 1}`;
    await registerSimulator(apiUrl, adminToken, {
      name,
      url: sim.url,
      token: sim.token,
      region: REGIONS[i % REGIONS.length],
      flavors: Object.fromEntries(sim.nodeTemplates.map((t) => [t.name, t.id])),
    });
    logger.log(`simulated Rancher backend ${name} at ${sim.url} (flavors ${SIMULATED_FLAVORS.join(', ')})`);
  }
  return simulators;
}

export interface SimulatorRegistration {
  name: string;
  url: string;
  token: string;
  region?: string;
  /** Flavor name → node template id on the simulator. */
  flavors: Record<string, string>;
}

/**
 * Registers a simulator through Paddock's admin API, or updates the registration when the name
 * exists (a restarted simulator has a new token and new node template ids).
 */
export async function registerSimulator(
  apiUrl: string,
  adminToken: string,
  sim: SimulatorRegistration,
): Promise<void> {
  const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
  const connection = {
    url: sim.url,
    token: sim.token,
    flavors: Object.fromEntries(
      Object.entries(sim.flavors).map(([flavor, id]) => [flavor, { nodeTemplateId: id }]),
    ),
  };
  const existing = await fetch(`${apiUrl}/v1/admin/backends/${sim.name}`, { headers });
  const response =
    existing.status === 404
      ? await fetch(`${apiUrl}/v1/admin/backends`, {
          method: 'POST',
          headers,
          body: JSON.stringify({
            name: sim.name,
            kind: 'rke1',
            region: sim.region,
            capacity: { maxClusters: 500, maxNodes: 5000 },
            ...connection,
          }),
        })
      : await fetch(`${apiUrl}/v1/admin/backends/${sim.name}`, {
          method: 'PATCH',
          headers,
          body: JSON.stringify(connection),
        });
  if (!response.ok)
    throw new Error(
      `registering simulated backend ${sim.name} failed: ${response.status} ${await response.text()}`,
    );
}
