/** The `npm run sim` entry point: flags, the start-up line, clean shutdown on SIGTERM. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const MAIN = join(__dirname, '..', '..', 'sim', 'main.js');

describe('simulator CLI', () => {
  it('starts with flags and env, prints its URL and templates, and exits 0 on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        MAIN,
        '--token',
        'token-cli00:secret',
        '--node-template',
        'm1.large',
        '--node-template=gpu=amazonec2',
        '--timing',
        'nodeProvisionMs=5',
      ],
      { env: { ...process.env, SIM_PORT: '0', SIM_PROFILE: 'realistic' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const text = line.toString();
    const match =
      /^rancher simulator listening on (http:\/\/127\.0\.0\.1:\d+) \(profile realistic\) node templates: m1\.large=(cattle-global-nt:nt-\w{5}) gpu=(cattle-global-nt:nt-\w{5}) cloud credentials: openstack=(cattle-global-data:cc-\w{5}) amazonec2=(cattle-global-data:cc-\w{5})\n$/.exec(
        text,
      );
    assert.ok(match, text);
    const [, url, largeId, gpuId, ...credentialIds] = match;
    // One cloud credential per node driver, served as printed (rke2 registrations name one).
    for (const id of credentialIds) {
      const credential = await fetch(`${url}/v3/cloudcredentials/${id}`, {
        headers: { Authorization: 'Bearer token-cli00:secret' },
      });
      assert.equal(credential.status, 200, id);
    }

    const response = await fetch(`${url}/v3/nodetemplates`, {
      headers: { Authorization: 'Bearer token-cli00:secret' },
    });
    const templates = ((await response.json()) as any).data.map((t: any) => [t.id, t.name, t.driver]).sort();
    assert.deepEqual(
      templates,
      [
        [largeId, 'm1.large', 'openstack'],
        [gpuId, 'gpu', 'amazonec2'],
      ].sort(),
    );

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  });

  it('behaves as the --version it is given, with its RKE2 releases', async () => {
    const child = spawn(
      process.execPath,
      [
        MAIN,
        '--port',
        '0',
        '--version',
        'v2.12.3',
        '--node-template',
        'm1.large',
        '--rke2-version',
        'v1.33.1+rke2r1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const match =
      /^rancher simulator listening on (http:\/\/127\.0\.0\.1:\d+) \(profile fast\) cloud credentials: openstack=cattle-global-data:cc-\w{5}\n$/.exec(
        line.toString(),
      );
    assert.ok(match, line.toString());
    const url = match[1];
    assert.equal(((await (await fetch(`${url}/rancherversion`)).json()) as any).Version, 'v2.12.3');
    const releases = (await (await fetch(`${url}/v1-rke2-release/releases`)).json()) as any;
    assert.deepEqual(
      releases.data.map((r: any) => r.version),
      ['v1.33.1+rke2r1'],
    );
    const configs = await fetch(`${url}/v1/rke-machine-config.cattle.io.openstackconfigs`);
    assert.equal(configs.status, 401, 'the /v1 API needs the token like /v3');
    child.kill('SIGTERM');
    assert.equal((await once(child, 'exit'))[0], 0);
  });

  it('refuses unknown flags with exit code 2', async () => {
    const child = spawn(process.execPath, [MAIN, '--port', '0', '--nope'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = await once(child, 'exit');
    assert.equal(code, 2);
    assert.match(stderr, /unknown argument --nope/);
  });
});
