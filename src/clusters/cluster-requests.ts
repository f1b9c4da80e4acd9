import type { FieldProblem } from '../common/problem';
import { NODE_ROLES, NodeRole } from './cluster.types';

/** Checks of a request's pools and labels that the DTO's decorators cannot express. */

interface PoolSpec {
  name: string;
  roles: readonly NodeRole[];
}

/** Pool names used twice; with `requireAllRoles`, a role no pool has. */
export function checkPools(
  pools: readonly PoolSpec[],
  field = 'nodePools',
  requireAllRoles = true,
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  pools.forEach((pool, i) => {
    if (seen.has(pool.name))
      problems.push({ field: `${field}[${i}].name`, message: `pool name '${pool.name}' is used twice` });
    seen.add(pool.name);
  });
  if (requireAllRoles) {
    const covered = new Set<NodeRole>(pools.flatMap((p) => p.roles));
    const missing = NODE_ROLES.filter((r) => !covered.has(r));
    if (missing.length > 0) {
      problems.push({
        field,
        message: `a cluster needs at least one etcd, one controlplane and one worker node; no pool has ${missing.join(', ')}`,
      });
    }
  }
  return problems;
}

/** Labels map keys (letters, digits, ._/-) to strings of at most 63 characters. */
export function checkLabels(labels: Record<string, unknown> | undefined): FieldProblem[] {
  return Object.entries(labels ?? {})
    .filter(
      ([key, value]) =>
        typeof value !== 'string' || value.length > 63 || !/^[A-Za-z0-9._/-]{1,253}$/.test(key),
    )
    .map(([key]) => ({
      field: `labels.${key}`,
      message: 'labels map keys (letters, digits, ._/-) to strings of at most 63 characters',
    }));
}
