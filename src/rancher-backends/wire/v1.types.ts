/**
 * Steve `/v1` wire shapes of provisioning v2 (rancher-api.md §9, §11.6) and their mapping to
 * Paddock's domain types (`backend-driver.ts`), one file per resource: v1-common (envelopes, shape
 * checks, ids, shared condition and status mapping), v1-clusters (provisioning clusters and their
 * machine pools), v1-nodes (CAPI machines, management Nodes) and v1-snapshots (etcd snapshots, RKE
 * control planes); this module gathers them. Like `v3.types.ts`, every field is optional and the
 * mappers supply defaults.
 */

export * from './v1-common.types';
export * from './v1-clusters.types';
export * from './v1-nodes.types';
export * from './v1-snapshots.types';
