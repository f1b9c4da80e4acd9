/**
 * Node flags of every process that runs the worker: the `worker` command in the Dockerfile's
 * default (PADDOCK_ROLE=all), docker-compose.yml and the Kubernetes worker Deployment, checked by
 * test/deploy; the bench starts its workers with them, so its figures are the shipped ones.
 *
 * Without them V8 sizes the heap from the host's memory (a 4 GiB limit on a 24 GiB machine) and
 * lets the old generation grow to 3-4× what is live between full collections: at 10,000 clusters
 * the worker's live heap is at most ~80 MiB but its RSS reached 350-430 MiB. A 256 MiB old-space
 * limit makes V8 grow it by a smaller factor (collections at ~110 MiB instead of ~270), and 8 MiB
 * semi-spaces (16 by default) halve the young generation. The price is GC time: about 6× the
 * full collections and 2× the scavenges for the same work. Flags must be on the command line:
 * V8 sizes its heap at start, and `v8.setFlagsFromString` afterwards leaves the limits alone.
 * The old-space limit is also a ceiling: a worker syncing several 10,000-cluster backends at once
 * (the processor runs 4 cycles at a time) holds about two pages per cycle, well inside it.
 */
export const WORKER_NODE_FLAGS = ['--max-old-space-size=256', '--max-semi-space-size=8'] as const;
