import type { SimObject } from '../store';
import { ClusterObjects, type KubeObject } from './store';
import { uuid } from '../ids';

/** Namespaces every new cluster has, as kube-apiserver creates them at start. */
const SYSTEM_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

/**
 * The downstream clusters' stored objects, made on first use of a cluster's API and dropped when
 * the Rancher cluster object goes away.
 */
export class KubeClusters {
  private readonly byId = new Map<string, ClusterObjects>();

  forCluster(cluster: SimObject): ClusterObjects {
    let objects = this.byId.get(cluster.id);
    if (!objects) {
      objects = new ClusterObjects();
      for (const name of SYSTEM_NAMESPACES) {
        objects.write('ADDED', 'namespaces', namespaceObject(name, uuid(), cluster.created));
      }
      this.byId.set(cluster.id, objects);
    }
    return objects;
  }

  /** The cluster was deleted: its objects go, and its open watches end. */
  forget(clusterId: string): void {
    this.byId.get(clusterId)?.close();
    this.byId.delete(clusterId);
  }

  close(): void {
    for (const id of [...this.byId.keys()]) this.forget(id);
  }
}

export function namespaceObject(
  name: string,
  uid: string,
  creationTimestamp: string,
  labels: Record<string, string> = {},
  annotations?: Record<string, string>,
): KubeObject {
  return {
    kind: 'Namespace',
    apiVersion: 'v1',
    metadata: {
      name,
      uid,
      resourceVersion: '',
      creationTimestamp,
      // The apiserver always sets this label to the namespace's name.
      labels: { ...labels, 'kubernetes.io/metadata.name': name },
      ...(annotations ? { annotations } : {}),
    },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}
