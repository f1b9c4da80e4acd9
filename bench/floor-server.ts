/**
 * The floors: the same framework as Paddock (Nest on Express, global validation pipe) with the
 * least work each measured request needs. Paddock cannot be faster than these on the same
 * machine; the ratios between the two are what the benchmark reports.
 *   POST /floor                                   inserts one row in one transaction (create)
 *   GET  /floor/projects/:p/clusters/:c           the read of one cluster: the same SELECTs
 *   GET  /floor/projects/:p/clusters?limit=N      Paddock's repositories run, with raw `pg`
 */
import 'reflect-metadata';
import {
  Body,
  Controller,
  Get,
  HttpCode,
  Module,
  NotFoundException,
  Param,
  Post,
  Query,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { IsObject, IsString } from 'class-validator';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { createValidationPipe } from '../src/common/validation';

class FloorBody {
  @IsString()
  name: string;
  @IsObject({ each: true })
  nodePools: object[];
}

const dataSource = new DataSource({ type: 'postgres', url: process.env.DATABASE_URL, extra: { max: 20 } });
// The same pool size as Paddock's data source (src/database/data-source.ts).
const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 20 });

// The statements of ProjectsRepository.findByName, ClustersRepository.findByName / list and poolsOf.
const SELECT_CLUSTER = `
  SELECT c.*, p.name AS project_name,
    (SELECT o.id FROM operations o WHERE o.cluster_id = c.id AND o.state IN ('pending', 'running')) AS active_operation_id
  FROM clusters c JOIN projects p ON p.id = c.project_id`;
const LIVE = `NOT IN ('deleted', 'failed')`;
const POOLS = `SELECT * FROM node_pools WHERE cluster_id = ANY($1::uuid[]) AND state ${LIVE} ORDER BY created_at, name`;

let errorsLogged = 0;
/** A failed floor read is counted as non-2xx by the bench; say why on stderr (a few times). */
function logged<T>(work: Promise<T>): Promise<T> {
  return work.catch((error: unknown) => {
    if (!(error instanceof NotFoundException) && errorsLogged++ < 5)
      console.error(`floor: ${(error as Error).message}`);
    throw error;
  });
}

async function project(name: string): Promise<{ id: string }> {
  const { rows } = await pool.query(`SELECT * FROM projects WHERE name = $1`, [name]);
  if (rows.length === 0) throw new NotFoundException();
  return rows[0];
}

@Controller('floor')
class FloorController {
  @Get('ping')
  ping(): string {
    return 'pong';
  }

  @Post()
  @HttpCode(202)
  async insert(@Body() body: FloorBody): Promise<{ id: string }> {
    return dataSource.transaction(async (m) => {
      const rows: Array<{ id: string }> = await m.query(
        `INSERT INTO bench_floor (name, body) VALUES ($1, $2) RETURNING id`,
        [body.name, JSON.stringify(body)],
      );
      return { id: rows[0].id };
    });
  }

  @Get('projects/:project/clusters/:cluster')
  one(@Param('project') projectName: string, @Param('cluster') name: string): Promise<unknown> {
    return logged(this.readOne(projectName, name));
  }

  private async readOne(projectName: string, name: string): Promise<unknown> {
    const p = await project(projectName);
    const { rows } = await pool.query(
      `${SELECT_CLUSTER} WHERE c.project_id = $1 AND c.name = $2
       ORDER BY (c.state ${LIVE}) DESC, c.created_at DESC LIMIT 1`,
      [p.id, name],
    );
    if (rows.length === 0) throw new NotFoundException();
    const pools = await pool.query(POOLS, [[rows[0].id]]);
    return { ...rows[0], nodePools: pools.rows };
  }

  @Get('projects/:project/clusters')
  list(@Param('project') projectName: string, @Query('limit') limit?: string): Promise<unknown> {
    return logged(this.readList(projectName, limit));
  }

  private async readList(projectName: string, limit?: string): Promise<unknown> {
    const p = await project(projectName);
    const n = Number(limit ?? 50);
    const { rows } = await pool.query(
      `${SELECT_CLUSTER}
       WHERE c.project_id = $1 AND ($2::text IS NULL OR c.state = $2)
         AND ($3::text IS NULL OR (c.name, c.id) > ($3, $4::uuid))
       ORDER BY c.name, c.id LIMIT $5`,
      [p.id, null, null, null, n + 1],
    );
    const items = rows.slice(0, n);
    const pools = await pool.query(POOLS, [items.map((r: { id: string }) => r.id)]);
    const byCluster = new Map<string, unknown[]>();
    for (const np of pools.rows) byCluster.set(np.cluster_id, [...(byCluster.get(np.cluster_id) ?? []), np]);
    return {
      items: items.map((r: { id: string }) => ({ ...r, nodePools: byCluster.get(r.id) ?? [] })),
      nextCursor: rows.length > n ? 'more' : null,
    };
  }
}

@Module({ controllers: [FloorController] })
class FloorModule {}

async function main(): Promise<void> {
  await dataSource.initialize();
  await dataSource.query(
    `CREATE TABLE IF NOT EXISTS bench_floor (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL, body jsonb NOT NULL)`,
  );
  const app = await NestFactory.create(FloorModule, { logger: false });
  app.useGlobalPipes(createValidationPipe());
  await app.listen(Number(process.env.PORT ?? 3900), '127.0.0.1');
  console.log('floor ready');
  const stop = () =>
    void app
      .close()
      .then(() => Promise.all([dataSource.destroy(), pool.end()]))
      .then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
