import { DataSource } from 'typeorm';
import { InitialSchema1763776800000 } from '../../migrations/1763776800000-InitialSchema';
import { BackendHealth1763776900000 } from '../../migrations/1763776900000-BackendHealth';
import { ProjectsAccessQuotaAudit1763777000000 } from '../../migrations/1763777000000-ProjectsAccessQuotaAudit';
import { KubeconfigCredentials1764600100000 } from '../../migrations/1764600100000-KubeconfigCredentials';
import { AuditOccurrencesOperationNotify1764600200000 } from '../../migrations/1764600200000-AuditOccurrencesOperationNotify';
import { TypedOperationSteps1764600300000 } from '../../migrations/1764600300000-TypedOperationSteps';
import { SyncLookupIndexes1764600400000 } from '../../migrations/1764600400000-SyncLookupIndexes';
import { Rke2Backends1764700000000 } from '../../migrations/1764700000000-Rke2Backends';
import { ClusterExpiryOperationCancel1764700100000 } from '../../migrations/1764700100000-ClusterExpiryOperationCancel';
import { ConditionMirrors1764700200000 } from '../../migrations/1764700200000-ConditionMirrors';
import { EtcdBackups1764700300000 } from '../../migrations/1764700300000-EtcdBackups';
import { Addons1764800000000 } from '../../migrations/1764800000000-Addons';
import { NodePoolAutoReplace1764800200000 } from '../../migrations/1764800200000-NodePoolAutoReplace';
import { NodeRegistrations1764800300000 } from '../../migrations/1764800300000-NodeRegistrations';
import { ClusterAddonObservedGeneration1764800410000 } from '../../migrations/1764800410000-ClusterAddonObservedGeneration';

/** Every migration, in order. Migrations are reviewed SQL; `synchronize` is never on. */
export const MIGRATIONS = [
  InitialSchema1763776800000,
  BackendHealth1763776900000,
  ProjectsAccessQuotaAudit1763777000000,
  KubeconfigCredentials1764600100000,
  AuditOccurrencesOperationNotify1764600200000,
  TypedOperationSteps1764600300000,
  SyncLookupIndexes1764600400000,
  Rke2Backends1764700000000,
  ClusterExpiryOperationCancel1764700100000,
  ConditionMirrors1764700200000,
  EtcdBackups1764700300000,
  Addons1764800000000,
  NodePoolAutoReplace1764800200000,
  NodeRegistrations1764800300000,
  ClusterAddonObservedGeneration1764800410000,
];

export function createDataSource(databaseUrl: string, poolSize = 20): DataSource {
  return new DataSource({
    type: 'postgres',
    url: databaseUrl,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    logging: false,
    extra: {
      max: poolSize,
      // A request never waits long for a connection: a saturated pool answers 503 rather than hang.
      connectionTimeoutMillis: 5_000,
      statement_timeout: 15_000,
      application_name: 'paddock',
    },
  });
}
