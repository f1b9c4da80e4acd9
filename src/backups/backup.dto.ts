import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean, IsInt, Max, Min } from 'class-validator';
import { IsOmittable } from '../common/validation';
import { BACKUP_BOUNDS } from '../config/app-config';

/** A cluster's recurring etcd backups. */
export class BackupScheduleDto {
  /** Hours between two recurring backups (1–168). */
  @IsInt()
  @Min(BACKUP_BOUNDS.intervalHours.min)
  @Max(BACKUP_BOUNDS.intervalHours.max)
  intervalHours: number;

  /** Recurring backups kept; older ones are rotated out (1–100). Manual backups are kept. */
  @IsInt()
  @Min(BACKUP_BOUNDS.retention.min)
  @Max(BACKUP_BOUNDS.retention.max)
  retention: number;
}

export class RestoreBackupDto {
  /** Also go back to the Kubernetes version the backup was taken with (default false). */
  @IsOmittable()
  @IsBoolean()
  restoreKubernetesVersion?: boolean;
}

export class BackupDto {
  /** The backend's name of the snapshot; what `…/backups/{backup}/restore` takes. */
  name: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  createdAt: string | null;
  @ApiProperty({ enum: ['activating', 'active', 'failed'] })
  state: 'activating' | 'active' | 'failed';
  /** Why a failed backup failed, as the backend says. */
  message: string;
  @ApiProperty({ enum: ['recurring', 'manual'] })
  kind: 'recurring' | 'manual';
  @ApiProperty({ type: String, nullable: true })
  kubernetesVersion: string | null;
  /** Bytes, where the backend reports it. */
  @ApiProperty({ type: Number, nullable: true })
  size: number | null;
}

export class BackupListDto {
  /** The cluster's bucket (no credentials: those stay with Paddock and the backend). */
  @ApiProperty({ type: String, nullable: true })
  bucket: string | null;
  @ApiProperty({ type: BackupScheduleDto, nullable: true })
  schedule: BackupScheduleDto | null;
  @ApiProperty({ type: [BackupDto] })
  items: BackupDto[];
}
