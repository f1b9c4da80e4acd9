/**
 * Rancher norman `/v3` wire shapes (rancher-api.md §2–§6) and their mapping to Paddock's domain
 * types (`backend-driver.ts`), one file per resource: v3-common (envelopes, shape checks, shared
 * mapping), v3-clusters, v3-nodes (templates, pools, nodes) and v3-backups; this module gathers them.
 *
 * These files are the only place where Rancher's norman field names appear. Every field is
 * optional on purpose: the server drops empty values and differs between versions, so the mappers
 * supply defaults and never trust a field to be there.
 */

export * from './v3-common.types';
export * from './v3-clusters.types';
export * from './v3-nodes.types';
export * from './v3-backups.types';
