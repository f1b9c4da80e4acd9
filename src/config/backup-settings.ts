/**
 * The etcd backup settings: their environment variables (S3 and schedule), their validated shape
 * in `AppConfig.backups`, and the bounds a cluster's own schedule is held to.
 */

import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { ConfigError } from './config-error';
import { toInt } from './env-parsing';

/** What a cluster's backup schedule may be (RKE1 `intervalHours`, `retention`). */
export const BACKUP_BOUNDS = {
  intervalHours: { min: 1, max: 24 * 7 },
  retention: { min: 1, max: 100 },
} as const;
/** The backup part of the environment (`EnvironmentVariables` extends it). */
export class BackupEnvironmentVariables {
  /** etcd backups to S3 for every cluster (on by default; production then needs the S3 settings). */
  @IsOptional()
  @IsIn(['on', 'off'])
  PADDOCK_BACKUPS?: 'on' | 'off';

  @IsOptional()
  @IsString()
  @Matches(/^https?:\/\/[^\s/?#]+\/?$/, {
    message: 'PADDOCK_S3_ENDPOINT must be an http(s) URL of a host (and port), without a path',
  })
  PADDOCK_S3_ENDPOINT?: string;

  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9-]{1,40}$/, { message: 'PADDOCK_S3_REGION must be a region name such as us-east-1' })
  PADDOCK_S3_REGION?: string;

  @IsOptional()
  @IsString()
  @Matches(/^\S{3,128}$/, { message: 'PADDOCK_S3_ACCESS_KEY_ID must be 3-128 characters without spaces' })
  PADDOCK_S3_ACCESS_KEY_ID?: string;

  @IsOptional()
  @IsString()
  @Matches(/^\S{3,256}$/, {
    message: 'PADDOCK_S3_SECRET_ACCESS_KEY must be 3-256 characters without spaces',
  })
  PADDOCK_S3_SECRET_ACCESS_KEY?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  PADDOCK_S3_TIMEOUT_MS?: number;

  /** Bucket names are `<prefix>-<cluster id>`: the prefix leaves room for the 36-character id. */
  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9-]{1,24}[a-z0-9]$/, {
    message:
      'PADDOCK_BACKUP_BUCKET_PREFIX must be 3-26 characters of a-z, 0-9 and -, not starting or ending with -',
  })
  PADDOCK_BACKUP_BUCKET_PREFIX?: string;

  @IsOptional()
  @IsIn(['keep', 'delete'])
  PADDOCK_BACKUP_BUCKET_ON_DELETE?: 'keep' | 'delete';

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(BACKUP_BOUNDS.intervalHours.min)
  @Max(BACKUP_BOUNDS.intervalHours.max)
  PADDOCK_BACKUP_INTERVAL_HOURS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(BACKUP_BOUNDS.retention.min)
  @Max(BACKUP_BOUNDS.retention.max)
  PADDOCK_BACKUP_RETENTION?: number;
}

/** The S3 API backups go to. The keys are secrets: never log them or put them in an answer. */
export interface S3Settings {
  /** `http(s)://host[:port]`, addressed path-style (`<endpoint>/<bucket>/<key>`). */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Bound on each S3 call (connect and answer). */
  timeoutMs: number;
}

export interface BackupSettings {
  s3: S3Settings;
  bucketPrefix: string;
  /** What a cluster delete does with the cluster's bucket once the cluster is gone. */
  bucketOnDelete: 'keep' | 'delete';
  /** The schedule a cluster gets when its create does not name one. */
  defaults: { intervalHours: number; retention: number };
}

const S3_SETTINGS = [
  'PADDOCK_S3_ENDPOINT',
  'PADDOCK_S3_ACCESS_KEY_ID',
  'PADDOCK_S3_SECRET_ACCESS_KEY',
] as const;

/** `AppConfig.backups` from the validated environment. */
export function backupSettings(env: BackupEnvironmentVariables): BackupSettings | null {
  if (env.PADDOCK_BACKUPS === 'off' || !env.PADDOCK_S3_ENDPOINT) return null;
  if (!env.PADDOCK_S3_ACCESS_KEY_ID || !env.PADDOCK_S3_SECRET_ACCESS_KEY) {
    throw new ConfigError(
      'PADDOCK_S3_ENDPOINT needs PADDOCK_S3_ACCESS_KEY_ID and PADDOCK_S3_SECRET_ACCESS_KEY',
    );
  }
  return {
    s3: {
      endpoint: env.PADDOCK_S3_ENDPOINT.replace(/\/+$/, ''),
      region: env.PADDOCK_S3_REGION ?? 'us-east-1',
      accessKeyId: env.PADDOCK_S3_ACCESS_KEY_ID,
      secretAccessKey: env.PADDOCK_S3_SECRET_ACCESS_KEY,
      timeoutMs: env.PADDOCK_S3_TIMEOUT_MS ?? 10_000,
    },
    bucketPrefix: env.PADDOCK_BACKUP_BUCKET_PREFIX ?? 'paddock-etcd',
    bucketOnDelete: env.PADDOCK_BACKUP_BUCKET_ON_DELETE ?? 'keep',
    defaults: {
      intervalHours: env.PADDOCK_BACKUP_INTERVAL_HOURS ?? 12,
      retention: env.PADDOCK_BACKUP_RETENTION ?? 6,
    },
  };
}

/** Production with backups on needs the S3 endpoint and keys: no embedded store stands in there. */
export function requireS3InProduction(source: NodeJS.ProcessEnv, env: BackupEnvironmentVariables): void {
  const missingS3 = S3_SETTINGS.filter((name) => !source[name]);
  if (env.PADDOCK_BACKUPS !== 'off' && missingS3.length > 0) {
    throw new ConfigError(
      `NODE_ENV=production with backups on (PADDOCK_BACKUPS) requires ${missingS3.join(', ')}`,
    );
  }
}
