/**
 * The Rancher simulator for test suites: starts one in-process on a random port and wraps its
 * control API (`/__sim/*`) and an authenticated `/v3` client. Every suite that talks to
 * "Rancher" over HTTP uses this instead of mocking the HTTP layer.
 */
import type { CallRecord, Fault, FaultSpec } from '../../sim/faults';
import type { SeedResult } from '../../sim/seed';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../sim/simulator';
import type { BackendDriver } from '../../src/rancher-backends/backend-driver';
import { BackendDriverOptions, createBackendDriver } from '../../src/rancher-backends/backend-driver.factory';

export type { CallRecord, Fault, FaultSpec } from '../../sim/faults';
export type { RunningSimulator, SimulatorOptions, SimulatorTimings } from '../../sim/simulator';

export interface RancherResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface SeedOptions {
  clusters: number;
  poolsPerCluster?: number;
  nodesPerPool?: number;
  labels?: Record<string, string>;
  namePrefix?: string;
  nodeTemplateId?: string;
  /** `rke1` (default up to v2.11), or provisioning v2 `rke2` / `k3s` (default from v2.12). */
  kind?: 'rke1' | 'rke2' | 'k3s';
  kubernetesVersion?: string;
  /** Machine-config driver of seeded v2 pools; default `openstack`. */
  driver?: string;
  backupsPerCluster?: number;
}

export interface ConditionInjection {
  type: 'cluster' | 'node' | 'nodePool' | 'etcdBackup' | 'provisioningCluster' | 'machine';
  /** `/v3` id, or `namespace/name` for `provisioningCluster` and `machine`. */
  id: string;
  condition: { type: string; status: 'True' | 'False' | 'Unknown'; message?: string; reason?: string };
}

export interface ComponentStatusReport {
  clusterId: string;
  name: string;
  status: 'True' | 'False' | 'Unknown';
  message?: string;
  error?: string;
}

export interface TestSimulator extends RunningSimulator {
  faults: {
    add(fault: FaultSpec): Promise<Fault>;
    list(): Promise<Fault[]>;
    clear(): Promise<void>;
  };
  /** Requests the simulator answered (control calls excluded), oldest first. */
  calls(): Promise<CallRecord[]>;
  clearCalls(): Promise<void>;
  /** Sets a condition on an object, e.g. `Provisioned=False` to fake a provisioning error. */
  setCondition(injection: ConditionInjection): Promise<any>;
  /** Reports a control-plane component's health on a cluster (RKE1 `componentStatuses`). */
  setComponentStatus(report: ComponentStatusReport): Promise<any>;
  /** Instantly creates active clusters with pools and nodes (simulator-only extension). */
  seed(options: SeedOptions): Promise<SeedResult>;
  /**
   * Breaks one Fleet bundle deployment (`<cluster namespace>/<bundle>`) behind the manager's back
   * until its deployment ID changes; answers the bundle deployment.
   */
  breakBundleDeployment(breakage: {
    id: string;
    state?: 'ErrApplied' | 'Modified' | 'NotReady';
    message?: string;
  }): Promise<any>;
  /**
   * An authenticated request to the simulator; `path` starts with `/` (e.g. `/v3/clusters`,
   * `/v1/provisioning.cattle.io.clusters`). `headers` add to or override the defaults.
   */
  rancher<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<RancherResponse<T>>;
}

/** Fast timings unless overridden; close it in an `after` hook. */
export async function startTestSimulator(options: SimulatorOptions = {}): Promise<TestSimulator> {
  const sim = await startSimulator({ profile: 'fast', ...options });

  async function request<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<RancherResponse<T>> {
    const response = await fetch(`${sim.url}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${sim.token}`,
        Accept: 'application/json',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    if ((response.headers.get('content-type') ?? '').includes('application/json') && text !== '') {
      parsed = JSON.parse(text);
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  }

  async function control<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await request<T>(method, path, body);
    if (response.status >= 300) {
      throw new Error(
        `simulator control ${method} ${path} → ${response.status} ${JSON.stringify(response.body)}`,
      );
    }
    return response.body;
  }

  return {
    ...sim,
    close: () => sim.close(),
    faults: {
      add: (fault) => control<Fault>('POST', '/__sim/faults', fault),
      list: async () => (await control<{ faults: Fault[] }>('GET', '/__sim/faults')).faults,
      clear: async () => {
        await control('DELETE', '/__sim/faults');
      },
    },
    calls: async () => (await control<{ calls: CallRecord[] }>('GET', '/__sim/calls')).calls,
    clearCalls: async () => {
      await control('DELETE', '/__sim/calls');
    },
    setCondition: (injection) => control('POST', '/__sim/conditions', injection),
    setComponentStatus: (report) => control('POST', '/__sim/component-statuses', report),
    seed: (options) => control<SeedResult>('POST', '/__sim/seed', options),
    breakBundleDeployment: (breakage) => control('POST', '/__sim/fleet/break', breakage),
    rancher: request,
  };
}

/**
 * Polls `probe` until it returns something other than `undefined`/`null`/`false`, or fails after
 * `timeoutMs` with the last value seen, so a stuck state machine shows where it stopped.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false>,
  {
    timeoutMs = 10_000,
    intervalMs = 25,
    what = 'condition',
  }: { timeoutMs?: number; intervalMs?: number; what?: string | (() => string) } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits until `GET path` reports `state` and returns that object. */
export async function waitForState<T extends { state: string } = any>(
  sim: TestSimulator,
  path: string,
  state: string,
  timeoutMs = 10_000,
): Promise<T> {
  return waitForStateOf(sim, path, state, (body) => (body as T).state, timeoutMs);
}

/** Waits until the steve object at `path` reads `metadata.state.name === state` and returns it. */
export async function waitForSteveState(
  sim: TestSimulator,
  path: string,
  state: string,
  timeoutMs = 10_000,
): Promise<any> {
  return waitForStateOf(sim, path, state, (body) => body.metadata.state.name, timeoutMs);
}

async function waitForStateOf(
  sim: TestSimulator,
  path: string,
  state: string,
  read: (body: any) => string,
  timeoutMs: number,
): Promise<any> {
  let seen = '';
  return waitFor(
    async () => {
      const response = await sim.rancher('GET', path);
      seen = response.status === 200 ? read(response.body) : `HTTP ${response.status}`;
      return seen === state ? response.body : undefined;
    },
    { timeoutMs, what: () => `${path} to be ${state} (last seen ${seen})` },
  );
}

/** Waits until `GET path` answers 404. */
export async function waitForGone(sim: TestSimulator, path: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(async () => (await sim.rancher('GET', path)).status === 404, {
    timeoutMs,
    what: `${path} to be gone`,
  });
}

/** A Paddock driver for the simulator with test-friendly defaults (fast retries); close it after. */
export function driverFor(
  sim: Pick<TestSimulator, 'url' | 'token'>,
  options: BackendDriverOptions = {},
): BackendDriver & { close(): void } {
  return createBackendDriver(
    'rke1',
    { name: 'sim-1', url: sim.url, token: sim.token },
    { retryBaseDelayMs: 10, retryMaxDelayMs: 50, timeoutMs: 5_000, ...options },
  );
}

/** Calls the simulator logged for `method` on paths matching `path`. */
export function callsOf(calls: CallRecord[], method: string, path: RegExp): CallRecord[] {
  return calls.filter((c) => c.method === method && path.test(c.path));
}

/** Every item of a paged listing (the sync reads them one page at a time; tests want them all). */
export async function all<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const items: T[] = [];
  for await (const page of pages) items.push(...page);
  return items;
}

/** Runs `fn` and returns the error it throws (fails when it does not throw). */
export async function rejection(fn: () => Promise<unknown>): Promise<any> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}
