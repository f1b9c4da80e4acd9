import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { withProblemResponses } from './common/api-problems';

/** The API's OpenAPI document, built from the controllers and DTOs (the Swagger CLI plugin fills the schemas). */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Paddock')
    .setDescription(
      'One small, stable API in front of many Rancher servers: projects, clusters, node pools, nodes and the operations that change them. ' +
        'Errors are RFC 9457 problem details with a stable `code`. Mutating calls accept an `Idempotency-Key` header.',
    )
    .setVersion('1')
    .setLicense('Proprietary: for the platform team and its users', 'https://paddock.dev/license')
    // Relative: the document is served by the Paddock it describes, wherever that is.
    .addServer('/', 'The Paddock that serves this document')
    .addBearerAuth()
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controller, method) => method,
  });
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = methods[method];
      if (operation)
        withProblemResponses(method, path, operation as Parameters<typeof withProblemResponses>[2]);
    }
  }
  return sortKeys(document) as OpenAPIObject;
}

/** Stable key order, so the committed document diffs cleanly. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
