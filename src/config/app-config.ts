import { randomBytes } from 'node:crypto';
import { plainToInstance, Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, validateSync } from 'class-validator';
import { BackupEnvironmentVariables, BackupSettings, backupSettings } from './backup-settings';
import { ConfigError } from './config-error';
import { toInt } from './env-parsing';
import { requireProductionSettings } from './production-requirements';
import { readCaFile } from './public-ca-file';

export { BACKUP_BOUNDS, type BackupSettings, type S3Settings } from './backup-settings';
export { ConfigError } from './config-error';

/**
 * The environment, validated once at boot. Nothing else in the code reads `process.env`.
 * Defaults are for local development; `NODE_ENV=production` refuses to start without secrets.
 */
export class EnvironmentVariables extends BackupEnvironmentVariables {
  @IsOptional()
  @IsIn(['development', 'test', 'production'])
  NODE_ENV?: 'development' | 'test' | 'production';

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT?: number;

  @IsOptional()
  @IsString()
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

  @IsOptional()
  @IsString()
  @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must be a redis:// URL' })
  REDIS_URL?: string;

  @IsOptional()
  @IsString()
  @Matches(/^\S{24,}$/, { message: 'PADDOCK_ADMIN_TOKEN must be at least 24 characters without spaces' })
  PADDOCK_ADMIN_TOKEN?: string;

  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'PADDOCK_ENCRYPTION_KEY must be 32 bytes, base64-encoded' })
  PADDOCK_ENCRYPTION_KEY?: string;

  /** Keys that sealed existing values before a rotation (comma-separated, same format). */
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9+/]{43}=(,[A-Za-z0-9+/]{43}=)*$/, {
    message: 'PADDOCK_PREVIOUS_ENCRYPTION_KEYS must be comma-separated base64 32-byte keys',
  })
  PADDOCK_PREVIOUS_ENCRYPTION_KEYS?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(16)
  PADDOCK_SIMULATORS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(200)
  PADDOCK_PROBE_PERIOD_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PADDOCK_WORKER_METRICS_PORT?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(200)
  PADDOCK_SYNC_PERIOD_MS?: number;

  /** `limit` of every Rancher list page; Rancher's own default is 1000 and it serves at most 10,000. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000)
  PADDOCK_SYNC_PAGE_SIZE?: number;

  @IsOptional()
  @IsIn(['api', 'worker', 'all'])
  PADDOCK_ROLE?: 'api' | 'worker' | 'all';

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  PADDOCK_OPERATION_DEADLINE_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(500)
  PADDOCK_WORKER_CONCURRENCY?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  PADDOCK_RANCHER_TIMEOUT_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  PADDOCK_OPERATION_LEASE_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(200)
  PADDOCK_SWEEP_PERIOD_MS?: number;

  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9_-]{1,40}$/, {
    message: 'PADDOCK_QUEUE_PREFIX must be 1-40 characters of a-z, 0-9, _ and -',
  })
  PADDOCK_QUEUE_PREFIX?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  PADDOCK_DEFAULT_QUOTA_CLUSTERS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  PADDOCK_DEFAULT_QUOTA_NODES?: number;

  @IsOptional()
  @IsIn(['on', 'off'])
  PADDOCK_QUOTA_ENFORCEMENT?: 'on' | 'off';

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  PADDOCK_QUOTA_RECONCILE_PERIOD_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  PADDOCK_RATE_LIMIT_WINDOW_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  PADDOCK_RATE_LIMIT_PER_TOKEN?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  PADDOCK_RATE_LIMIT_PER_PROJECT?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  PADDOCK_RATE_LIMIT_ANONYMOUS_PER_MINUTE?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  PADDOCK_LONG_POLL_MAX_PER_TOKEN?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  PADDOCK_LONG_POLL_MAX_PER_PROCESS?: number;

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL?: string;

  /** The URL people and kubectl reach this API at; the `server` of every kubeconfig. */
  @IsOptional()
  @IsString()
  @Matches(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, {
    message: 'PADDOCK_PUBLIC_URL must be an http(s) URL without query or fragment',
  })
  PADDOCK_PUBLIC_URL?: string;

  /**
   * A PEM file with the CA certificate(s) that sign PADDOCK_PUBLIC_URL's certificate, for a
   * private CA: kubeconfigs then carry it as `certificate-authority-data`.
   */
  @IsOptional()
  @IsString()
  PADDOCK_PUBLIC_CA_FILE?: string;

  /** The longest `ttlSeconds` a kubeconfig may ask for. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(366 * 24 * 3600)
  PADDOCK_KUBECONFIG_MAX_TTL?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(7 * 24 * 3600)
  PADDOCK_NODE_REGISTRATION_TTL?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  PADDOCK_KUBE_PROXY_CONNECT_TIMEOUT_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  PADDOCK_KUBE_PROXY_RESPONSE_TIMEOUT_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  PADDOCK_KUBE_PROXY_MAX_DURATION_SECONDS?: number;
}

export interface AppConfig {
  env: 'development' | 'test' | 'production';
  port: number;
  databaseUrl: string;
  redisUrl: string;
  adminToken: string;
  /** True when the admin token was generated at boot (so it is printed once for the operator). */
  adminTokenGenerated: boolean;
  encryptionKey: Buffer;
  previousEncryptionKeys: Buffer[];
  /** How often each backend is probed; two failed probes in a row take it out of placement. */
  probePeriodMs: number;
  /** A worker running alone serves `/metrics` on this port (0 = not at all). */
  workerMetricsPort: number;
  simulators: number;
  role: 'api' | 'worker' | 'all';
  syncPeriodMs: number;
  /**
   * Items per page of the Rancher lists (the status sync's, and every other): a cycle makes one
   * call per page, and holds at most two pages at a time.
   */
  syncPageSize: number;
  operationDeadlineMs: number;
  workerConcurrency: number;
  rancherTimeoutMs: number;
  /** How long a runner owns an operation before another may take it over (crash recovery time). */
  operationLeaseMs: number;
  /** How often the sweeper re-enqueues unfinished operations and re-creates sync schedules. */
  sweepPeriodMs: number;
  /** Redis key prefix of every queue: separate prefixes keep deployments (or test runs) apart. */
  queuePrefix: string;
  logLevel: string;
  /** Limits a new project starts with. */
  defaultQuota: { clusters: number; nodes: number };
  /**
   * Off only to measure what quota costs (or in an emergency): no reservation is taken or
   * settled, and the reconcile job recounts usage from the cluster tables.
   */
  quotaEnforced: boolean;
  /** How often a worker recomputes quota usage from the cluster tables and repairs drift. */
  quotaReconcilePeriodMs: number;
  /** Fixed-window request limits per token and per project (0 = no limit); admins are exempt. */
  rateLimit: { windowMs: number; perToken: number; perProject: number };
  /**
   * Where users reach this API (no trailing slash). Null outside production when not set: then
   * it is `http://127.0.0.1:<the port the server listens on>`, known only once it listens.
   */
  publicUrl: string | null;
  /** PEM of the CA behind `publicUrl`, when it is a private one (read at boot). */
  publicCaPem: string | null;
  /** The longest life a kubeconfig credential may be given, in seconds. */
  kubeconfigMaxTtlSeconds: number;
  /** How long a node registration's join command works when the request names no `ttlSeconds`. */
  nodeRegistrationTtlSeconds: number;
  /**
   * The Kubernetes API proxy: how long to wait for the backend to accept a connection and to
   * answer, and the longest any one proxied request or upgraded connection may stay open (an
   * open watch has no idle timeout, but it does not live forever).
   */
  kubeProxy: { connectTimeoutMs: number; responseTimeoutMs: number; maxDurationMs: number };
  /**
   * Failed authentications per source address per minute (0 = no limit). Past it, the address
   * gets 429 before any authentication is attempted, until the minute is over.
   */
  anonymousPerMinute: number;
  /** Concurrent `waitSeconds` long-polls per token (429 past it) and per API process (503). */
  longPoll: { maxPerToken: number; maxPerProcess: number };
  /**
   * etcd backups, or null when they are off (`PADDOCK_BACKUPS=off`, or outside production with
   * no S3 endpoint: `npm start` then starts an embedded store and sets one).
   */
  backups: BackupSettings | null;
}

/** A fixed development key: backend tokens in a dev database are not secret enough to matter. */
const DEVELOPMENT_ENCRYPTION_KEY = Buffer.alloc(32, 'paddock-development-key');

export function loadConfig(source: NodeJS.ProcessEnv = process.env): AppConfig {
  const env = plainToInstance(EnvironmentVariables, { ...source }, { excludeExtraneousValues: false });
  const errors = validateSync(env, { skipMissingProperties: false, forbidUnknownValues: false });
  if (errors.length > 0) {
    const lines = errors.flatMap((e) => Object.values(e.constraints ?? {}));
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const nodeEnv = env.NODE_ENV ?? 'development';
  const production = nodeEnv === 'production';
  if (production) requireProductionSettings(source, env);
  const adminToken = env.PADDOCK_ADMIN_TOKEN ?? `pdk_admin_${randomBytes(24).toString('base64url')}`;
  return {
    env: nodeEnv,
    port: env.PORT ?? 3000,
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/paddock',
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    adminToken,
    adminTokenGenerated: env.PADDOCK_ADMIN_TOKEN === undefined,
    encryptionKey: env.PADDOCK_ENCRYPTION_KEY
      ? Buffer.from(env.PADDOCK_ENCRYPTION_KEY, 'base64')
      : DEVELOPMENT_ENCRYPTION_KEY,
    previousEncryptionKeys: (env.PADDOCK_PREVIOUS_ENCRYPTION_KEYS ?? '')
      .split(',')
      .filter(Boolean)
      .map((k) => Buffer.from(k, 'base64')),
    probePeriodMs: env.PADDOCK_PROBE_PERIOD_MS ?? (production ? 10_000 : 2_000),
    workerMetricsPort: env.PADDOCK_WORKER_METRICS_PORT ?? 0,
    // Production never starts simulators, whatever PADDOCK_SIMULATORS says.
    simulators: production ? 0 : (env.PADDOCK_SIMULATORS ?? 2),
    role: env.PADDOCK_ROLE ?? 'all',
    syncPeriodMs: env.PADDOCK_SYNC_PERIOD_MS ?? (production ? 15_000 : 1_000),
    syncPageSize: env.PADDOCK_SYNC_PAGE_SIZE ?? 1_000,
    operationDeadlineMs: env.PADDOCK_OPERATION_DEADLINE_MS ?? 30 * 60_000,
    workerConcurrency: env.PADDOCK_WORKER_CONCURRENCY ?? 20,
    rancherTimeoutMs: env.PADDOCK_RANCHER_TIMEOUT_MS ?? 10_000,
    operationLeaseMs: env.PADDOCK_OPERATION_LEASE_MS ?? 60_000,
    sweepPeriodMs: env.PADDOCK_SWEEP_PERIOD_MS ?? (production ? 15_000 : 5_000),
    queuePrefix: env.PADDOCK_QUEUE_PREFIX ?? 'paddock',
    logLevel: env.LOG_LEVEL ?? (nodeEnv === 'test' ? 'warn' : 'info'),
    defaultQuota: {
      clusters: env.PADDOCK_DEFAULT_QUOTA_CLUSTERS ?? 50,
      nodes: env.PADDOCK_DEFAULT_QUOTA_NODES ?? 1000,
    },
    quotaEnforced: (env.PADDOCK_QUOTA_ENFORCEMENT ?? 'on') === 'on',
    quotaReconcilePeriodMs: env.PADDOCK_QUOTA_RECONCILE_PERIOD_MS ?? 60_000,
    rateLimit: {
      windowMs: env.PADDOCK_RATE_LIMIT_WINDOW_MS ?? 60_000,
      perToken: env.PADDOCK_RATE_LIMIT_PER_TOKEN ?? 3_000,
      perProject: env.PADDOCK_RATE_LIMIT_PER_PROJECT ?? 6_000,
    },
    publicUrl: env.PADDOCK_PUBLIC_URL?.replace(/\/+$/, '') ?? null,
    publicCaPem: env.PADDOCK_PUBLIC_CA_FILE ? readCaFile(env.PADDOCK_PUBLIC_CA_FILE) : null,
    kubeconfigMaxTtlSeconds: env.PADDOCK_KUBECONFIG_MAX_TTL ?? 30 * 24 * 3600,
    nodeRegistrationTtlSeconds: env.PADDOCK_NODE_REGISTRATION_TTL ?? 3600,
    kubeProxy: {
      connectTimeoutMs: env.PADDOCK_KUBE_PROXY_CONNECT_TIMEOUT_MS ?? 5_000,
      // Rancher's own proxy takes up to ~40 s to give up on a lost cluster agent (rancher-212.md).
      responseTimeoutMs: env.PADDOCK_KUBE_PROXY_RESPONSE_TIMEOUT_MS ?? 60_000,
      // As long as kube-apiserver keeps a watch at most (2 × its 30 min --min-request-timeout).
      maxDurationMs: (env.PADDOCK_KUBE_PROXY_MAX_DURATION_SECONDS ?? 3_600) * 1000,
    },
    anonymousPerMinute: env.PADDOCK_RATE_LIMIT_ANONYMOUS_PER_MINUTE ?? 300,
    longPoll: {
      maxPerToken: env.PADDOCK_LONG_POLL_MAX_PER_TOKEN ?? 100,
      maxPerProcess: env.PADDOCK_LONG_POLL_MAX_PER_PROCESS ?? 2_000,
    },
    backups: backupSettings(env),
  };
}

export const APP_CONFIG = Symbol('APP_CONFIG');
