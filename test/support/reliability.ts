/**
 * Small helpers shared by the reliability suites: one simulator per case, pinned by region so
 * that the case's clusters land on it, and counting a simulator's calls.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { assertAllOperationsTerminal, assertNoOrphans, OrphanCheckOptions } from './invariants';
import { clusterBody, kindOf, TestPaddock } from './paddock';
import { assertSystemInvariants, SystemCheckOptions } from './reliability-checks';
import { CallRecord, SimulatorOptions, startTestSimulator, TestSimulator } from './simulator';

export interface CaseBackend {
  sim: TestSimulator;
  name: string;
  region: string;
  /** `rke2` when the simulator behaves as Rancher 2.12 or later. */
  kind: 'rke1' | 'rke2';
}

/** Starts a simulator and registers it as a backend whose region is its own name. */
export async function addBackend(
  paddock: TestPaddock,
  name: string,
  options: SimulatorOptions = {},
): Promise<CaseBackend> {
  const sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }], ...options });
  const registered = await paddock.registerBackend(name, sim, { region: name });
  assert.equal(registered.status, 201, `register ${name}: ${JSON.stringify(registered.body)}`);
  return { sim, name, region: name, kind: kindOf(sim as { version?: string }) };
}

/** POSTs a create for `name` on the case's backend; returns the 202 body `{cluster, operation}`. */
export async function createOn(
  paddock: TestPaddock,
  project: string,
  backend: CaseBackend,
  name: string,
  overrides: Record<string, unknown> = {},
) {
  const created = await paddock.request(
    'POST',
    `/v1/projects/${project}/clusters`,
    clusterBody(name, { region: backend.region, ...overrides }),
  );
  assert.equal(created.status, 202, `create ${name}: ${JSON.stringify(created.body)}`);
  return created.body as { cluster: { id: string; name: string }; operation: { id: string } };
}

export function count(calls: CallRecord[], method: string, path: RegExp, status?: number): number {
  return calls.filter(
    (c) => c.method === method && path.test(c.path) && (status === undefined || c.status === status),
  ).length;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The `after` of a reliability file: every operation terminal and no orphan across all of the
 * file's backends, then Paddock and the simulators closed (even when a check fails).
 */
export async function closeCheckingInvariants(
  paddock: TestPaddock | undefined,
  backends: CaseBackend[],
  orphans: OrphanCheckOptions = {},
): Promise<void> {
  try {
    if (paddock) {
      await assertAllOperationsTerminal(paddock);
      await assertNoOrphans(
        paddock,
        backends.map((b) => b.sim),
        orphans,
      );
    }
  } finally {
    await paddock?.close();
    for (const b of backends) await b.sim.close();
  }
}

/**
 * The `after` of a file whose cases may leave the system half-changed (faults, SIGKILLs): the
 * whole-system invariants (every operation terminal, no orphan or duplicate, counters equal to
 * the tables), then Paddock and the simulators closed (even when a check fails).
 */
export async function closeCheckingSystem(
  paddock: TestPaddock | undefined,
  backends: CaseBackend[],
  options: SystemCheckOptions,
): Promise<void> {
  try {
    if (paddock)
      await assertSystemInvariants(
        paddock,
        backends.map((b) => b.sim),
        options,
      );
  } finally {
    await paddock?.close();
    for (const b of backends) await b.sim.close();
  }
}

/**
 * The worker children of a Paddock started with `workers: 'child'`, kept at `count` (a kill never
 * leaves the operations with none while the new one boots); `killOldest` SIGKILLs the oldest live
 * worker and starts a new one, one kill at a time; `killed` counts the SIGKILLs so far.
 */
export function workerPool(
  paddock: TestPaddock,
  count = 2,
): { killOldest(): Promise<void>; readonly killed: number } {
  const workers: ChildProcess[] = [...paddock.children];
  while (workers.length < count) workers.push(paddock.spawnWorker());
  let lock: Promise<void> = Promise.resolve();
  let killed = 0;
  return {
    killOldest() {
      const next = lock.then(async () => {
        const victim = workers.find((w) => w.exitCode === null && w.signalCode === null);
        if (victim) {
          const exited = new Promise((resolve) => victim.once('exit', resolve));
          victim.kill('SIGKILL');
          await exited;
          killed++;
        }
        workers.push(paddock.spawnWorker());
      });
      lock = next.catch(() => undefined);
      return next;
    },
    get killed() {
      return killed;
    },
  };
}
