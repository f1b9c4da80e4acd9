/**
 * Pods: every namespace holds one synthetic, always-running pod `echo` (container `echo`) that
 * exists so `kubectl exec` has something to reach (see exec.ts). No other pods exist.
 */
import { createHash } from 'node:crypto';
import type { KubeObject } from './store';

export const ECHO_POD = 'echo';
export const ECHO_CONTAINER = 'echo';

/** The echo pod of `namespace`, scheduled on `nodeName` (the first node, or none yet). */
export function echoPod(namespace: KubeObject, nodeName: string | undefined): KubeObject {
  const started = namespace.metadata.creationTimestamp;
  const spec: Record<string, unknown> = {
    containers: [{ name: ECHO_CONTAINER, image: 'busybox:1.36', command: ['sleep', 'infinity'] }],
    restartPolicy: 'Always',
  };
  if (nodeName) spec.nodeName = nodeName;
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name: ECHO_POD,
      namespace: namespace.metadata.name,
      uid: derivedUid(`${namespace.metadata.uid}/${ECHO_POD}`),
      resourceVersion: namespace.metadata.resourceVersion,
      creationTimestamp: started,
      labels: { app: ECHO_POD },
    },
    spec,
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: started }],
      podIP: '10.42.0.10',
      startTime: started,
      containerStatuses: [
        {
          name: ECHO_CONTAINER,
          ready: true,
          started: true,
          restartCount: 0,
          image: 'busybox:1.36',
          state: { running: { startedAt: started } },
        },
      ],
    },
  };
}

/** A stable UUID-shaped id, so the same pod keeps its uid across reads. */
function derivedUid(seed: string): string {
  const hex = createHash('sha1').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
