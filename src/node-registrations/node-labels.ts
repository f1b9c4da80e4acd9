/**
 * Kubernetes' syntax for node labels and taints (apimachinery `validation.IsQualifiedName`,
 * `IsValidLabelValue`; taint effects from core/v1), checked before anything is written, each
 * problem naming its field. The agent would pass a bad label on to the kubelet, which refuses to
 * start with it: the server would sit half-joined with nobody told why.
 */
import type { FieldProblem } from '../common/problem';
import { PADDOCK_LABELS } from '../rancher-backends/backend-driver';
import { TAINT_EFFECTS, type NodeTaint } from './node-registration.types';

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Prefixes the key of a label or taint may not use: Paddock's own, Rancher's, the kubelet's. */
const RESERVED_PREFIXES = [PADDOCK_LABELS.managed.split('/')[0], 'cattle.io', 'kubernetes.io', 'k8s.io'];

export const MAX_NODE_LABELS = 32;
export const MAX_NODE_TAINTS = 16;

/** A qualified name: `[prefix/]name`, the prefix a DNS subdomain of at most 253 characters. */
export function qualifiedNameProblem(key: string): string | null {
  const slash = key.lastIndexOf('/');
  const prefix = slash === -1 ? null : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (!NAME.test(name)) {
    return 'must be a name of at most 63 letters, digits, "-", "_" or "." (starting and ending alphanumeric), optionally prefixed with a DNS subdomain and "/"';
  }
  if (prefix !== null) {
    if (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) return 'has a prefix that is not a DNS subdomain';
    if (RESERVED_PREFIXES.some((p) => prefix === p || prefix.endsWith(`.${p}`))) {
      return `uses a reserved prefix (${RESERVED_PREFIXES.join(', ')})`;
    }
  }
  return null;
}

const labelValueProblem = (value: unknown): string | null =>
  typeof value !== 'string'
    ? 'must be a string'
    : value === '' || NAME.test(value)
      ? null
      : 'must be empty or at most 63 letters, digits, "-", "_" or "." (starting and ending alphanumeric)';

export function checkNodeLabels(labels: Record<string, unknown> | undefined): FieldProblem[] {
  const entries = Object.entries(labels ?? {});
  if (entries.length > MAX_NODE_LABELS) {
    return [{ field: 'labels', message: `at most ${MAX_NODE_LABELS} labels` }];
  }
  const problems: FieldProblem[] = [];
  for (const [key, value] of entries) {
    const keyProblem = qualifiedNameProblem(key);
    if (keyProblem) problems.push({ field: `labels.${key}`, message: `label key ${keyProblem}` });
    const valueProblem = labelValueProblem(value);
    if (valueProblem) problems.push({ field: `labels.${key}`, message: `label value ${valueProblem}` });
  }
  return problems;
}

export function checkNodeTaints(taints: Array<Partial<NodeTaint>> | undefined): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  (taints ?? []).forEach((taint, i) => {
    const keyProblem = typeof taint.key === 'string' ? qualifiedNameProblem(taint.key) : 'must be a string';
    if (keyProblem) problems.push({ field: `taints[${i}].key`, message: `taint key ${keyProblem}` });
    const valueProblem = labelValueProblem(taint.value ?? '');
    if (valueProblem) problems.push({ field: `taints[${i}].value`, message: `taint value ${valueProblem}` });
    if (!TAINT_EFFECTS.includes(taint.effect as NodeTaint['effect'])) {
      problems.push({
        field: `taints[${i}].effect`,
        message: `effect must be one of ${TAINT_EFFECTS.join(', ')}`,
      });
    }
    const id = `${taint.key}:${taint.effect}`;
    if (seen.has(id))
      problems.push({ field: `taints[${i}]`, message: 'a taint with this key and effect is given twice' });
    seen.add(id);
  });
  return problems;
}
