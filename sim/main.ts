/**
 * CLI: `node dist/sim/main.js --port 9555 --token token-abcde:s3cr3t [--profile realistic]
 * [--version v2.11.3] [--host 0.0.0.0] [--node-template m1.large[=driver] ...]
 * [--kubernetes-version v1.31.9-rancher1-1 ...] [--rke2-version v1.31.9+rke2r1 ...]
 * [--k3s-version v1.31.9+k3s1 ...] [--timing nodeProvisionMs=500 ...]
 * [--tls-cert cert.pem --tls-key key.pem [--tls-port 9443]] [--no-fleet]`.
 * Environment fallbacks: SIM_PORT, SIM_TOKEN, SIM_PROFILE. Runs until SIGINT/SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { startSimulator, type SimulatorOptions } from './simulator';
import { isTimingName, type SimulatorTimings, type TimingProfile } from './timings';

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): SimulatorOptions {
  const options: SimulatorOptions = {};
  const timings: Partial<SimulatorTimings> = {};
  const nodeTemplates: Array<{ name: string; driver?: string }> = [];
  const kubernetesVersions: string[] = [];
  const rke2Versions: string[] = [];
  const k3sVersions: string[] = [];
  let port = env.SIM_PORT;
  let tlsCert: string | undefined;
  let tlsKey: string | undefined;
  let tlsPort: string | undefined;
  let profile = env.SIM_PROFILE;
  options.token = env.SIM_TOKEN || undefined;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    // `--flag=value` and `--flag value` both work; only the first `=` separates.
    const eq = arg.indexOf('=');
    const [flag, inline] =
      arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = (): string => {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case '--port':
        port = value();
        break;
      case '--host':
        options.host = value();
        break;
      case '--token':
        options.token = value();
        break;
      case '--profile':
        profile = value();
        break;
      case '--version':
        options.version = value();
        break;
      case '--no-fleet':
        options.fleet = false;
        break;
      case '--node-template': {
        const [name, driver] = value().split('=');
        nodeTemplates.push(driver ? { name, driver } : { name });
        break;
      }
      case '--tls-cert':
        tlsCert = value();
        break;
      case '--tls-key':
        tlsKey = value();
        break;
      case '--tls-port':
        tlsPort = value();
        break;
      case '--kubernetes-version':
        kubernetesVersions.push(value());
        break;
      case '--rke2-version':
        rke2Versions.push(value());
        break;
      case '--k3s-version':
        k3sVersions.push(value());
        break;
      case '--timing': {
        const setting = value();
        const [name, ms] = setting.split('=');
        if (!isTimingName(name) || !/^\d+$/.test(ms ?? '')) throw new Error(`bad --timing ${setting}`);
        timings[name] = Number(ms);
        break;
      }
      default:
        throw new Error(`unknown argument ${arg}`);
    }
  }
  if (port !== undefined) {
    if (!/^\d+$/.test(port)) throw new Error(`bad port ${port}`);
    options.port = Number(port);
  }
  if (profile !== undefined) {
    if (profile !== 'fast' && profile !== 'realistic') throw new Error('profile must be fast or realistic');
    options.profile = profile as TimingProfile;
  }
  if ((tlsCert === undefined) !== (tlsKey === undefined))
    throw new Error('--tls-cert and --tls-key go together');
  if (tlsPort !== undefined && !/^\d+$/.test(tlsPort)) throw new Error(`bad --tls-port ${tlsPort}`);
  if (tlsCert !== undefined && tlsKey !== undefined) {
    options.tls = {
      cert: readFileSync(tlsCert),
      key: readFileSync(tlsKey),
      port: tlsPort ? Number(tlsPort) : undefined,
    };
  }
  options.timings = timings;
  options.nodeTemplates = nodeTemplates;
  if (kubernetesVersions.length > 0) options.kubernetesVersions = kubernetesVersions;
  if (rke2Versions.length > 0) options.rke2Versions = rke2Versions;
  if (k3sVersions.length > 0) options.k3sVersions = k3sVersions;
  return options;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2), process.env);
  const sim = await startSimulator(options);
  const templates = sim.nodeTemplates.map((t) => `${t.name}=${t.id}`).join(' ');
  console.log(
    `rancher simulator listening on ${sim.url}${sim.secureUrl ? ` and ${sim.secureUrl}` : ''} (profile ${options.profile ?? 'fast'})` +
      (templates ? ` node templates: ${templates}` : '') +
      (sim.cloudCredentials.length
        ? ` cloud credentials: ${sim.cloudCredentials.map((c) => `${c.driver}=${c.id}`).join(' ')}`
        : ''),
  );
  const stop = () => {
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`simulator: ${(error as Error).message}`);
  process.exit(2);
});
