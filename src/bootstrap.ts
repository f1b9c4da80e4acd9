import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger as PinoLogger } from 'nestjs-pino';
import { ApiModule, WorkerModule } from './app.module';
import { configureHttpPipeline } from './common/http-pipeline';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { createDataSource } from './database/data-source';
import { ensureDatabase, runMigrations } from './database/migrate';
import { mountKubeProxy } from './kube-access/kube-access.module';
import { buildOpenApiDocument } from './openapi';

/** Creates the database if needed and applies pending migrations (one replica at a time). */
export async function prepareDatabase(config: AppConfig): Promise<string[]> {
  await ensureDatabase(config.databaseUrl);
  const dataSource = await createDataSource(config.databaseUrl, 2).initialize();
  try {
    return await runMigrations(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

/** Wires the HTTP application: validation, problem details, docs. Does not listen. */
export async function createApi(
  config: AppConfig,
  options: { preview?: boolean } = {},
): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRoot(config), {
    bufferLogs: true,
    preview: options.preview,
    abortOnError: false,
    // The one JSON parser is set up by configureHttpPipeline, behind the audit and the limits.
    bodyParser: false,
  });
  if (!options.preview) {
    app.useLogger(app.get(PinoLogger));
    // The proxy goes first: its bodies stream to the backend untouched, before any JSON parser.
    mountKubeProxy(app);
    configureHttpPipeline(app);
  }
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();
  app.getHttpAdapter().getInstance().disable('x-powered-by');
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'openapi.json',
    yamlDocumentUrl: 'openapi.yaml',
  });
  return app;
}

export async function startApi(config: AppConfig): Promise<INestApplication> {
  const app = await createApi(config);
  await app.listen(config.port, '0.0.0.0');
  return app;
}

export async function startWorker(config: AppConfig): Promise<INestApplicationContext> {
  const worker = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), {
    bufferLogs: true,
  });
  worker.useLogger(worker.get(PinoLogger));
  worker.enableShutdownHooks();
  await worker.init();
  return worker;
}
