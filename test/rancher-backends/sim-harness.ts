/**
 * The Rancher client tests' view of a simulator (on top of `test/support/simulator.ts`): its
 * control API and its Rancher API over real HTTP, independently of the client under test (so a
 * client bug cannot hide itself in the assertions).
 */

import type { SimulatorTimings } from '../../sim/simulator';
import { startTestSimulator, waitFor } from '../support/simulator';
import { createBackendDriver, BackendDriverOptions } from '../../src/rancher-backends/backend-driver.factory';
import type { BackendDriver } from '../../src/rancher-backends/backend-driver';

export interface SimCall {
  method: string;
  path: string;
  status: number;
  at: string | number;
}

export interface SimFault {
  method?: string;
  path: string;
  status?: number;
  times?: number;
  delayMs?: number;
  dropResponse?: boolean;
}

export interface TestSim {
  url: string;
  token: string;
  /** Calls Rancher's (simulated) API directly with the right token; returns status and parsed body. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  addFault(fault: SimFault): Promise<void>;
  clearFaults(): Promise<void>;
  calls(): Promise<SimCall[]>;
  clearCalls(): Promise<void>;
  seed(spec: {
    clusters: number;
    poolsPerCluster?: number;
    nodesPerPool?: number;
    labels?: Record<string, string>;
  }): Promise<void>;
  /** Id of the first node template the simulator was started with. */
  nodeTemplateId(): Promise<string>;
  /** Polls until `check` returns a truthy value (or throws after `timeoutMs`). */
  eventually<T>(check: () => Promise<T | null | undefined | false>, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export const TEST_TOKEN = 'token-tstkn:bcdfghjklmnpqrstvwxz2456789bcdfghjklmnpqrstvwxz2456789bc';

export async function startSim(
  options: { timings?: Partial<SimulatorTimings>; token?: string } = {},
): Promise<TestSim> {
  const sim = await startTestSimulator({
    port: 0,
    token: options.token ?? TEST_TOKEN,
    timings: options.timings,
    nodeTemplates: [{ name: 'm1.large' }],
  });
  return {
    url: sim.url.replace(/\/+$/, ''),
    token: sim.token,
    api: (method, path, body) => sim.rancher(method, path, body),
    addFault: async (fault) => void (await sim.faults.add(fault)),
    clearFaults: () => sim.faults.clear(),
    calls: () => sim.calls(),
    clearCalls: () => sim.clearCalls(),
    seed: async (spec) => void (await sim.seed(spec)),
    nodeTemplateId: async () => sim.nodeTemplates[0].id,
    eventually: (check, timeoutMs = 10_000) =>
      waitFor(async () => (await check()) || undefined, { timeoutMs, intervalMs: 50 }) as Promise<never>,
    close: () => sim.close(),
  };
}

/** A driver for the simulator with test-friendly defaults (fast retries). */
export function driverFor(
  sim: Pick<TestSim, 'url' | 'token'>,
  options: BackendDriverOptions = {},
): BackendDriver & { close(): void } {
  return createBackendDriver(
    'rke1',
    { name: 'sim-1', url: sim.url, token: sim.token },
    { retryBaseDelayMs: 10, retryMaxDelayMs: 50, timeoutMs: 5_000, ...options },
  );
}

/** Calls the simulator logged for `method` on paths matching `path`. */
export function callsOf(calls: SimCall[], method: string, path: RegExp): SimCall[] {
  return calls.filter((c) => c.method === method && path.test(c.path));
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
