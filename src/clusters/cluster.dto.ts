import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { BackupScheduleDto } from '../backups/backup.dto';
import { IsDnsLabel } from '../common/dns-label';
import { IsNestedObject, IsOmittable } from '../common/validation';
import { PageQuery } from '../common/cursor';
import {
  CLUSTER_STATES,
  type ClusterState,
  NODE_ROLES,
  type NodePoolState,
  type NodeRole,
  POOL_STATES,
} from './cluster.types';

/** Upper bound on one pool; a bigger pool is almost certainly a typo, and Rancher would choke on it. */
export const MAX_POOL_QUANTITY = 500;
export const MAX_POOLS_PER_CLUSTER = 20;
/** Ten years: a longer life is no expiry at all, and a typo. */
export const MAX_TTL_SECONDS = 10 * 365 * 24 * 3600;

/** RKE1's own bound on `deleteNotReadyAfterSecs` (about a year; rancher-212.md §3.4). */
export const MAX_UNHEALTHY_AFTER_SECONDS = 31_540_000;

/**
 * Automatic replacement of a pool's unhealthy nodes: a node whose kubelet stops being Ready for
 * this long is deleted by the backend and the pool makes a new one (rke1 `deleteNotReadyAfterSecs`,
 * acting on an unreachable node; rke2 `unhealthyNodeTimeout`, a MachineHealthCheck on NotReady or
 * unreachable nodes).
 */
export class AutoReplaceDto {
  /** Seconds (1–31540000) a node may stay unhealthy before it is replaced. */
  @ApiProperty({ minimum: 1, maximum: MAX_UNHEALTHY_AFTER_SECONDS, example: 600 })
  @IsInt()
  @Min(1)
  @Max(MAX_UNHEALTHY_AFTER_SECONDS)
  unhealthyAfterSeconds: number;
}

export class NodePoolSpecDto {
  @IsDnsLabel('Pool name, unique within the cluster', 'workers')
  name: string;

  @ApiProperty({ enum: NODE_ROLES, isArray: true, example: ['worker'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(NODE_ROLES, { each: true, message: `each role must be one of ${NODE_ROLES.join(', ')}` })
  roles: NodeRole[];

  /** Number of nodes (1–500). */
  @IsInt()
  @Min(1)
  @Max(MAX_POOL_QUANTITY)
  quantity: number;

  /** A node flavor the cluster's backend offers, e.g. `m1.large`. */
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9.-]{0,62}$/, { message: 'flavor must be a flavor name such as m1.large' })
  flavor: string;

  /** Replace nodes that stay unhealthy this long; absent: never. */
  @IsOmittable()
  @IsNestedObject(() => AutoReplaceDto)
  autoReplace?: AutoReplaceDto;
}

export class CreateClusterDto {
  @IsDnsLabel('Cluster name, unique among the live clusters of the project', 'web-prod')
  name: string;

  /** Kubernetes version such as `v1.30.4`; the backend's default when absent. */
  @IsOmittable()
  @IsString()
  @Matches(/^v\d{1,3}\.\d{1,3}(\.\d{1,4})?$/, {
    message: 'kubernetesVersion must look like v1.30.4 (or v1.30 for the newest patch on offer)',
  })
  kubernetesVersion?: string;

  /** Only backends in this region are considered. */
  @IsOmittable()
  @IsDnsLabel('Placement constraint: only backends of this region', 'tokyo')
  region?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, example: { team: 'web' } })
  @IsOmittable()
  @IsObject()
  labels?: Record<string, string>;

  /**
   * When Paddock deletes the cluster by itself (for CI clusters that must not outlive their job).
   * Must be in the future and within the project's `maxClusterLifetimeSeconds`; when the project
   * has such a maximum and neither this nor `ttlSeconds` is given, the cluster expires at it.
   */
  @ApiPropertyOptional({ format: 'date-time', example: '2026-12-01T18:00:00Z' })
  @IsOmittable()
  @IsISO8601({ strict: true }, { message: 'expiresAt must be an ISO 8601 date-time' })
  expiresAt?: string;

  /** Shorthand for `expiresAt`: this many seconds from now. */
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_TTL_SECONDS, example: 14400 })
  @IsOmittable()
  @IsInt()
  @Min(1)
  @Max(MAX_TTL_SECONDS)
  ttlSeconds?: number;

  @ApiProperty({ type: [NodePoolSpecDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_POOLS_PER_CLUSTER)
  @ValidateNested({ each: true })
  @Type(() => NodePoolSpecDto)
  nodePools: NodePoolSpecDto[];

  /** Recurring etcd backups to the cluster's own bucket; the configured defaults when absent. */
  @IsOmittable()
  @IsNestedObject(() => BackupScheduleDto)
  backup?: BackupScheduleDto;
}

/**
 * A change to a cluster: at least one field. `expiresAt` changes only Paddock's record (200);
 * `kubernetesVersion` starts an `upgrade` operation (202). Both in one request are one change:
 * applied together, or (when the upgrade is refused) neither.
 */
export class UpdateClusterDto {
  /**
   * Extend or shorten the cluster's life (a future date-time), or `null` to clear its expiry.
   * Bound by the project's `maxClusterLifetimeSeconds`, counted from the cluster's creation.
   */
  @ApiPropertyOptional({ type: String, nullable: true, format: 'date-time', example: '2026-12-02T06:00:00Z' })
  // `null` is a value of its own (clear), so only null and absence skip the date check.
  @ValidateIf((o: UpdateClusterDto) => o.expiresAt !== null && o.expiresAt !== undefined)
  @IsISO8601({ strict: true }, { message: 'expiresAt must be an ISO 8601 date-time or null' })
  expiresAt?: string | null;

  /**
   * Upgrade to this version (`v1.32.5`, or `v1.32` for the newest patch the cluster's backend
   * offers): one minor version at a time, never down. The version the cluster runs already is
   * no change.
   */
  @ApiPropertyOptional({ example: 'v1.32.5' })
  @IsOmittable()
  @IsString()
  @Matches(/^v\d{1,3}\.\d{1,3}(\.\d{1,4})?$/, {
    message: 'kubernetesVersion must look like v1.32.5 (or v1.32 for the newest patch on offer)',
  })
  kubernetesVersion?: string;

  /**
   * A new backup schedule: an `update-backup-schedule` operation (202), as `PUT
   * …/backups/schedule` records. Not with `kubernetesVersion` in one request: each is an operation.
   */
  @IsOmittable()
  @IsNestedObject(() => BackupScheduleDto)
  backup?: BackupScheduleDto;
}

/** A change to a pool: its quantity, its auto-replace setting, or both (at least one). */
export class UpdateNodePoolDto {
  /** New number of nodes (1–500). */
  @IsOmittable()
  @IsInt()
  @Min(1)
  @Max(MAX_POOL_QUANTITY)
  quantity?: number;

  /** New auto-replace setting; `null` turns it off. */
  @ApiPropertyOptional({ type: AutoReplaceDto, nullable: true })
  @ValidateIf((o: UpdateNodePoolDto) => o.autoReplace !== null && o.autoReplace !== undefined)
  @IsNestedObject(() => AutoReplaceDto)
  autoReplace?: AutoReplaceDto | null;
}

export class ListClustersQuery extends PageQuery {
  @ApiPropertyOptional({ enum: CLUSTER_STATES })
  @IsOptional()
  @IsIn(CLUSTER_STATES)
  state?: ClusterState;
}

export class ConditionDto {
  /**
   * `Ready`, `Provisioned`, `Updated`, `BackendReachable`, `InSync`, ...; on clusters,
   * `ComponentHealthy/<component>` for each control-plane component the backend reports.
   */
  type: string;
  @ApiProperty({ enum: ['True', 'False', 'Unknown'] })
  status: 'True' | 'False' | 'Unknown';
  @ApiPropertyOptional()
  reason?: string;
  @ApiPropertyOptional()
  message?: string;
  @ApiPropertyOptional({ format: 'date-time' })
  lastTransitionTime?: string;
}

export class NodePoolDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  name: string;
  @ApiProperty({ enum: NODE_ROLES, isArray: true })
  roles: NodeRole[];
  flavor: string;
  /** Desired number of nodes. */
  quantity: number;
  /** Nodes the backend reported for this pool at the last sync (null before the first). */
  @ApiProperty({ type: Number, nullable: true })
  observedQuantity: number | null;
  /** Nodes reported active at the last sync. */
  readyNodes: number;
  @ApiProperty({ enum: POOL_STATES })
  state: NodePoolState;
  /** Automatic replacement of unhealthy nodes, as the backend was last told; null: off. */
  @ApiProperty({ type: AutoReplaceDto, nullable: true })
  autoReplace: AutoReplaceDto | null;
  @ApiProperty({ format: 'date-time' })
  createdAt: string;
}

export class ClusterDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  name: string;
  project: string;
  @ApiProperty({ enum: CLUSTER_STATES })
  state: ClusterState;
  @ApiProperty({ type: String, nullable: true })
  kubernetesVersion: string | null;
  @ApiProperty({ type: String, nullable: true })
  region: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  labels: Record<string, string>;
  @ApiProperty({ type: [NodePoolDto] })
  nodePools: NodePoolDto[];
  @ApiProperty({ type: [ConditionDto] })
  conditions: ConditionDto[];
  /** Nodes reported by the backend at the last sync. */
  nodeCount: number;
  /** When the status was last confirmed by the backend; old means stale. */
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  statusUpdatedAt: string | null;
  /** The operation currently changing the cluster, if any. */
  @ApiProperty({ type: String, nullable: true, format: 'uuid' })
  activeOperationId: string | null;
  /** When Paddock deletes the cluster by itself; null: never. */
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  expiresAt: string | null;
  @ApiProperty({ format: 'date-time' })
  createdAt: string;
  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}

export class ClusterListDto {
  @ApiProperty({ type: [ClusterDto] })
  items: ClusterDto[];
  @ApiProperty({ type: String, nullable: true })
  nextCursor: string | null;
}

export class NodeDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  hostname: string;
  /** Pool name, or null for a node that belongs to no pool Paddock knows. */
  @ApiProperty({ type: String, nullable: true })
  nodePool: string | null;
  /** `pool` for a node of a node pool, `registered` for an own server joined with a node registration's command. */
  @ApiProperty({ enum: ['pool', 'registered'] })
  source: 'pool' | 'registered';
  /** The node registration a registered node joined with (null when it names none of this cluster's). */
  @ApiProperty({ type: String, nullable: true, format: 'uuid' })
  registration: string | null;
  @ApiProperty({ enum: NODE_ROLES, isArray: true })
  roles: NodeRole[];
  /** Backend's state for the node: `provisioning`, `registering`, `active`, `unavailable`, ... */
  state: string;
  /** `yes` while changing, `error` when stuck, `no` otherwise. */
  transitioning: string;
  message: string;
  @ApiProperty({ type: String, nullable: true })
  ipAddress: string | null;
  /**
   * As last synced: the backend's lifecycle conditions and the kubelet's `Ready` (Rancher keeps no
   * other kubelet condition on its node objects; on rke2 the machine's `NodeHealthy` reflects
   * pressure).
   */
  @ApiProperty({ type: [ConditionDto] })
  conditions: ConditionDto[];
  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}

export class NodeListDto {
  @ApiProperty({ type: [NodeDto] })
  items: NodeDto[];
  @ApiProperty({ type: String, nullable: true })
  nextCursor: string | null;
}

export class PlannedCallDto {
  @ApiProperty({ enum: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'] })
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  /**
   * Rancher path, `{clusterId}` standing for the id Rancher will assign; or, for an S3 call, the
   * path-style path under `PADDOCK_S3_ENDPOINT`, `{id}` standing for the cluster's Paddock id.
   */
  path: string;
  purpose: string;
  /** True for a poll that repeats until its condition holds. */
  @ApiPropertyOptional()
  repeated?: boolean;
}

/** What a create would do, decided exactly as the create decides it; nothing is written. */
export class ClusterPlanDto {
  project: string;
  name: string;
  /** The backend placement chose (shown to admins only; null for others). */
  @ApiProperty({ type: String, nullable: true })
  backend: string | null;
  @ApiProperty({ type: String, nullable: true })
  region: string | null;
  /** What the create reserves against the project's quota and the backend's capacity. */
  clusters: number;
  nodes: number;
  /** The steps the create operation would run, in order. */
  steps: string[];
  /** The Rancher calls the create would make (admins only; empty for everyone else). */
  @ApiProperty({ type: [PlannedCallDto] })
  rancherCalls: PlannedCallDto[];
  /**
   * The S3 calls the create would make before the cluster exists on Rancher: the look-up of the
   * cluster's bucket and its creation when absent (admins only; empty for everyone else, and when
   * the cluster gets no backups).
   */
  @ApiProperty({ type: [PlannedCallDto] })
  s3Calls: PlannedCallDto[];
}
