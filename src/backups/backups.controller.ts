import { Body, Controller, Get, HttpCode, Param, Post, Put, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiDefaultResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { OperationDto } from '../clusters/operation.dto';
import { ApiProblems } from '../common/api-problems';
import { ProblemDto } from '../common/problem.dto';
import { BackupListDto, BackupScheduleDto, RestoreBackupDto } from './backup.dto';
import { BackupsService } from './backups.service';

const located = (res: Response, operation: OperationDto) => {
  res.setHeader('Location', `/v1/operations/${operation.id}`);
};

@ApiTags('backups')
@ApiBearerAuth()
@ApiDefaultResponse({ type: ProblemDto, description: 'Problem details (RFC 9457)' })
@Controller('v1/projects/:project/clusters/:cluster')
export class BackupsController {
  constructor(private readonly backups: BackupsService) {}

  // Its own route rather than a field of `PATCH …/clusters/{cluster}`: that one answers at once
  // (expiry), this one is an operation on the backend (202).
  @Put('backups/schedule')
  @HttpCode(202)
  @ApiProblems({ 409: ['OPERATION_IN_PROGRESS', 'CLUSTER_NOT_READY', 'BACKUPS_NOT_CONFIGURED'] })
  @ApiOperation({ operationId: 'setBackupSchedule', summary: "Change a cluster's backup schedule" })
  @ApiAcceptedResponse({ type: OperationDto })
  async update(
    @Param('project') project: string,
    @Param('cluster') cluster: string,
    @Body() body: BackupScheduleDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OperationDto> {
    const operation = await this.backups.updateSchedule(project, cluster, body);
    located(res, operation);
    return operation;
  }

  @Get('backups')
  @ApiOperation({ operationId: 'listBackups', summary: "A cluster's etcd backups, as last synced" })
  list(@Param('project') project: string, @Param('cluster') cluster: string): Promise<BackupListDto> {
    return this.backups.list(project, cluster);
  }

  @Post('backups')
  @HttpCode(202)
  @ApiProblems({ 409: ['OPERATION_IN_PROGRESS', 'CLUSTER_NOT_READY', 'BACKUPS_NOT_CONFIGURED'] })
  @ApiOperation({
    operationId: 'createBackup',
    summary: 'Take a backup now; the operation succeeds when it is active',
  })
  @ApiAcceptedResponse({ type: OperationDto })
  async create(
    @Param('project') project: string,
    @Param('cluster') cluster: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OperationDto> {
    const operation = await this.backups.takeBackup(project, cluster);
    located(res, operation);
    return operation;
  }

  @Post('backups/:backup/restore')
  @HttpCode(202)
  @ApiProblems({ 409: ['OPERATION_IN_PROGRESS', 'CLUSTER_NOT_READY', 'BACKUP_NOT_ACTIVE'] })
  @ApiOperation({ operationId: 'restoreBackup', summary: 'Restore the cluster from one of its backups' })
  @ApiAcceptedResponse({ type: OperationDto })
  async restore(
    @Param('project') project: string,
    @Param('cluster') cluster: string,
    @Param('backup') backup: string,
    @Body() body: RestoreBackupDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OperationDto> {
    const operation = await this.backups.restore(
      project,
      cluster,
      backup,
      body.restoreKubernetesVersion ?? false,
    );
    located(res, operation);
    return operation;
  }
}
