/**
 * The worker-only join command Paddock hands out, built from the backend's node command
 * (rancher-api.md §5): RKE1's `docker run … rancher/rancher-agent:<ver> --server … --token …` or
 * provisioning v2's `curl -fL …/system-agent-install.sh | sudo sh -s - --server … --token …`. Both
 * agents take the same flags after it: `--worker`, then one `--label key=value` per label and one
 * `--taints key=value:Effect` per taint. Paddock adds its own label, the registration's id, which
 * is how the status sync tells which registration a node joined with.
 */
import { PADDOCK_LABELS } from '../rancher-backends/backend-driver';
import type { NodeTaint } from './node-registration.types';

/** Role flags that would give a server more than the worker role: never in a Paddock command. */
const CONTROL_ROLE_FLAGS = /(^|\s)--(etcd|controlplane|all-roles)(\s|$)/;

/** Single-quoted for `sh`: the values are validated, quoting keeps them one word all the same. */
const quoted = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

export function workerJoinCommand(
  nodeCommand: string,
  registration: { id: string; labels: Record<string, string>; taints: NodeTaint[] },
): string {
  const base = nodeCommand.trim();
  // The backend's command carries no role; one that did would be no command to hand out.
  if (CONTROL_ROLE_FLAGS.test(base) || /(^|\s)--worker(\s|$)/.test(base)) {
    throw new Error('the backend node command already names a role');
  }
  const labels = { ...registration.labels, [PADDOCK_LABELS.registrationId]: registration.id };
  const words = [
    base,
    '--worker',
    ...Object.entries(labels).map(([key, value]) => `--label ${quoted(`${key}=${value}`)}`),
    ...registration.taints.map((t) => `--taints ${quoted(`${t.key}=${t.value}:${t.effect}`)}`),
  ];
  const command = words.join(' ');
  if (CONTROL_ROLE_FLAGS.test(command)) throw new Error('a join command must be worker-only');
  return command;
}
