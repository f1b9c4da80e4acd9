/**
 * The floor for create acceptance: the same framework (Nest on Express, global validation pipe)
 * with one POST route that inserts one row in one transaction. Paddock's create cannot be faster
 * than this on the same machine; the ratio between the two is what the benchmark reports.
 */
import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { IsObject, IsString } from 'class-validator';
import { DataSource } from 'typeorm';
import { createValidationPipe } from '../src/common/validation';

class FloorBody {
  @IsString()
  name: string;
  @IsObject({ each: true })
  nodePools: object[];
}

const dataSource = new DataSource({ type: 'postgres', url: process.env.DATABASE_URL, extra: { max: 20 } });

@Controller('floor')
class FloorController {
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
}

void main();
