import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { RunningSimulator } from '../../sim/simulator';

/**
 * Flavors every simulated backend offers: on an rke1 backend each is a node template of the same
 * name; on an rke2 backend each is an OpenStack machine-config template with that `flavorName`.
 */
export const SIMULATED_FLAVORS = ['m1.small', 'm1.large', 'm1.xlarge'];
/**
 * The Rancher each simulator behaves as, in turn: a 2.9 server (RKE1 `/v3` and provisioning v2;
 * registered as `rke1`) and a 2.12 server (no RKE1; registered as `rke2`).
 */
const SIMULATED_RANCHERS = [
  { version: 'v2.9.3', kind: 'rke1' },
  { version: 'v2.12.3', kind: 'rke2' },
] as const;
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
    const { version, kind } = SIMULATED_RANCHERS[i % SIMULATED_RANCHERS.length];
    const options = {
      token: randomToken(),
      version,
      nodeTemplates: SIMULATED_FLAVORS.map((name) => ({ name })),
    };
    const sim = await startSimulator({ ...options, port: FIRST_PORT + i }).catch(() =>
      // The fixed port is taken (another Paddock running?): take any free one.
      startSimulator({ ...options, port: 0 }),
    );
    simulators.push(sim);
    const name = `sim-${i + 1}`;
    await registerSimulator(apiUrl, adminToken, {
      name,
      kind,
      url: sim.url,
      token: sim.token,
      cloudCredential: sim.cloudCredentials[0]?.id,
      region: REGIONS[i % REGIONS.length],
      flavors:
        kind === 'rke1'
          ? Object.fromEntries(sim.nodeTemplates.map((t) => [t.name, { nodeTemplateId: t.id }]))
          : Object.fromEntries(SIMULATED_FLAVORS.map((f) => [f, simulatedMachineConfig(f)])),
    });
    logger.log(
      `simulated Rancher ${version} backend ${name} (${kind}) at ${sim.url} (flavors ${SIMULATED_FLAVORS.join(', ')})`,
    );
  }
  return simulators;
}

/** An rke2 flavor: the machine config Paddock creates per pool (OpenStack, as the seeds use). */
export function simulatedMachineConfig(flavor: string) {
  return {
    machineConfig: {
      kind: 'OpenstackConfig',
      fields: { flavorName: flavor, imageName: 'ubuntu-22.04', netName: 'private', sshUser: 'ubuntu' },
    },
  };
}

export interface SimulatorRegistration {
  name: string;
  kind: 'rke1' | 'rke2';
  url: string;
  token: string;
  region?: string;
  /** rke2: the simulator's OpenStack cloud credential (`cattle-global-data:cc-xxxxx`). */
  cloudCredential?: string;
  /** Flavor name → what it means on the simulator (`{nodeTemplateId}` or `{machineConfig}`). */
  flavors: Record<string, unknown>;
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
    flavors: sim.flavors,
    ...(sim.kind === 'rke2' ? { cloudCredential: sim.cloudCredential } : {}),
  };
  const existing = await fetch(`${apiUrl}/v1/admin/backends/${sim.name}`, { headers });
  const response =
    existing.status === 404
      ? await fetch(`${apiUrl}/v1/admin/backends`, {
          method: 'POST',
          headers,
          body: JSON.stringify({
            name: sim.name,
            kind: sim.kind,
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
