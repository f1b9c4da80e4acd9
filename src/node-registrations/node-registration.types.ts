/** Node registrations as the service and the repository speak of them. */

export type CloseReason = 'revoked' | 'expired' | 'cluster-deleted';

/** `open` until revoked, expired or its cluster deleted. */
export type RegistrationState = 'open' | CloseReason;

export const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;
export type TaintEffect = (typeof TAINT_EFFECTS)[number];

export interface NodeTaint {
  key: string;
  value: string;
  effect: TaintEffect;
}

export interface NodeRegistrationRecord {
  id: string;
  projectId: string;
  clusterId: string;
  /** Nodes the registration was made for (its share of the quota while open). */
  count: number;
  /** Nodes that joined with it and are counted now. */
  joined: number;
  /** Slots given back by nodes that were removed. */
  released: number;
  labels: Record<string, string>;
  taints: NodeTaint[];
  /** The backend's id of the registration token (not the token). */
  tokenRef: string | null;
  expiresAt: Date;
  closedAt: Date | null;
  closeReason: CloseReason | null;
  createdAt: Date;
}
