/**
 * Writes the API's OpenAPI document to `openapi.json` at the repository root (committed), or with
 * `--check` fails when the committed file differs from what the code describes.
 * The app is built in Nest's preview mode: no database or Redis connection is made.
 */
import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApi } from '../src/bootstrap';
import { loadConfig } from '../src/config/app-config';
import { buildOpenApiDocument } from '../src/openapi';

export const OPENAPI_PATH = join(__dirname, '..', '..', 'openapi.json');

export async function renderOpenApi(): Promise<string> {
  const app = await createApi(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }), { preview: true });
  try {
    return `${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`;
  } finally {
    await app.close();
  }
}

async function main(): Promise<void> {
  const rendered = await renderOpenApi();
  if (process.argv.includes('--check')) {
    const committed = readFileSync(OPENAPI_PATH, 'utf8');
    if (committed !== rendered) {
      console.error('openapi.json is out of date: run `npm run openapi` and commit the result');
      process.exit(1);
    }
    console.log('openapi.json is up to date');
    return;
  }
  writeFileSync(OPENAPI_PATH, rendered);
  console.log(`wrote ${OPENAPI_PATH}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
