/**
 * Registers already-running simulators with a running Paddock (used by docker-compose, where the
 * simulators are containers of their own). `SIMULATORS="name=url=token,..."`; each simulator's
 * node templates become flavors of the same name. A simulator that reports Rancher 2.12 or later
 * (no RKE1) is registered as `rke2`, with the development flavors as machine-config templates.
 */
import { registerSimulator, SIMULATED_FLAVORS, simulatedMachineConfig } from '../src/dev/simulated-backends';
import { servesRke1 } from '../src/rancher-backends/backends.service';

async function waitFor(url: string): Promise<void> {
  for (let attempt = 0; attempt < 60; attempt++) {
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  throw new Error(`${url} did not answer within a minute`);
}

async function main(): Promise<void> {
  const apiUrl = process.env.PADDOCK_URL ?? 'http://127.0.0.1:3000';
  const adminToken = process.env.PADDOCK_ADMIN_TOKEN;
  if (!adminToken) throw new Error('PADDOCK_ADMIN_TOKEN is required');
  await waitFor(`${apiUrl}/readyz`);
  for (const entry of (process.env.SIMULATORS ?? '').split(',').filter(Boolean)) {
    const [name, url, token] = entry.split('=');
    await waitFor(`${url}/ping`);
    const headers = { authorization: `Bearer ${token}`, accept: 'application/json' };
    const version = await fetch(`${url}/v3/settings/server-version`, {
      headers,
      signal: AbortSignal.timeout(5_000),
    }).then((r) => r.json() as Promise<{ value?: string }>);
    if (!servesRke1(version.value ?? '')) {
      // The OpenStack credential the simulator made at start; registration checks it exists.
      const credentials = await fetch(`${url}/v3/cloudcredentials`, {
        headers,
        signal: AbortSignal.timeout(5_000),
      }).then((r) => r.json() as Promise<{ data: Array<{ id: string; name: string }> }>);
      await registerSimulator(apiUrl, adminToken, {
        name,
        kind: 'rke2',
        url,
        token,
        cloudCredential: credentials.data.find((c) => c.name === 'openstack')?.id,
        flavors: Object.fromEntries(SIMULATED_FLAVORS.map((f) => [f, simulatedMachineConfig(f)])),
      });
      console.log(`registered ${name} (${url}, rke2) with flavors ${SIMULATED_FLAVORS.join(', ')}`);
      continue;
    }
    const templates = await fetch(`${url}/v3/nodetemplates`, {
      headers,
      signal: AbortSignal.timeout(5_000),
    }).then((r) => r.json() as Promise<{ data: Array<{ id: string; name: string }> }>);
    await registerSimulator(apiUrl, adminToken, {
      name,
      kind: 'rke1',
      url,
      token,
      flavors: Object.fromEntries(templates.data.map((t) => [t.name, { nodeTemplateId: t.id }])),
    });
    console.log(`registered ${name} (${url}) with flavors ${templates.data.map((t) => t.name).join(', ')}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
