/**
 * The committed `openapi.json` is what the code describes and what the running API serves, and
 * every route of the v1 contract carries a stable operationId (clients are generated from them);
 * the committed typed client is what openapi-typescript makes of it; and a real OpenAPI linter
 * (Redocly, recommended rules) finds nothing in it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OPENAPI_PATH, renderOpenApi } from '../../scripts/generate-openapi';
import { ClusterAcceptedDto } from '../../src/clusters/operation.dto';
import { startPaddock, TestPaddock } from '../support/paddock';

type Document = {
  paths: Record<
    string,
    Record<string, { operationId?: string; security?: unknown[]; responses: Record<string, unknown> }>
  >;
};

const ROOT = join(__dirname, '..', '..', '..');
const CLIENT_SCHEMA = join(ROOT, 'cli', 'api', 'schema.d.ts');

/** Runs a tool from node_modules; resolves with its exit code and output, never throws. */
function tool(script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'node_modules', script), ...args],
      {
        cwd: ROOT,
        timeout: 120_000,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** design.md's table, the part this issue builds, with the operationId each route must keep. */
const CONTRACT: Array<[string, string, string]> = [
  ['post', '/v1/projects/{project}/clusters', 'createCluster'],
  ['get', '/v1/projects/{project}/clusters', 'listClusters'],
  ['get', '/v1/projects/{project}/clusters/{cluster}', 'getCluster'],
  ['delete', '/v1/projects/{project}/clusters/{cluster}', 'deleteCluster'],
  ['get', '/v1/projects/{project}/clusters/{cluster}/kubeconfig', 'getKubeconfig'],
  ['post', '/v1/projects/{project}/clusters/{cluster}/node-pools', 'addNodePool'],
  ['patch', '/v1/projects/{project}/clusters/{cluster}/node-pools/{pool}', 'scaleNodePool'],
  ['delete', '/v1/projects/{project}/clusters/{cluster}/node-pools/{pool}', 'deleteNodePool'],
  ['get', '/v1/projects/{project}/clusters/{cluster}/nodes', 'listNodes'],
  ['get', '/v1/operations/{operation}', 'getOperation'],
  ['post', '/v1/operations/{operation}/cancel', 'cancelOperation'],
  ['patch', '/v1/projects/{project}/clusters/{cluster}', 'updateCluster'],
  ['post', '/v1/admin/backends', 'registerBackend'],
  ['get', '/v1/admin/backends', 'listBackends'],
  ['get', '/v1/admin/backends/{backend}', 'getBackend'],
  ['patch', '/v1/admin/backends/{backend}', 'updateBackend'],
  ['delete', '/v1/admin/backends/{backend}', 'deleteBackend'],
  ['post', '/v1/admin/projects', 'createProject'],
  ['get', '/v1/admin/projects', 'listProjects'],
  ['get', '/healthz', 'healthz'],
  ['get', '/readyz', 'readyz'],
];

describe('OpenAPI document', () => {
  let paddock: TestPaddock;
  let committed: string;

  before(async () => {
    committed = readFileSync(OPENAPI_PATH, 'utf8');
    paddock = await startPaddock({ workers: 'none' });
  });

  after(async () => {
    await paddock?.close();
  });

  it('matches the committed openapi.json byte for byte (run the generate script after an API change)', async () => {
    // The DTO schemas come from the Swagger CLI plugin, which only `nest build` runs (plain tsc,
    // or an incremental build that tsc last wrote, leaves them empty).
    assert.equal(
      typeof (ClusterAcceptedDto as unknown as Record<string, unknown>)._OPENAPI_METADATA_FACTORY,
      'function',
      'dist/ was not built by `nest build` with the @nestjs/swagger plugin; run `rm -f dist/.tsbuildinfo && npx nest build`',
    );
    assert.equal(await renderOpenApi(), committed);
  });

  it('is what the running API serves at /openapi.json', async () => {
    const response = await fetch(`${paddock.url}/openapi.json`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), JSON.parse(committed));
  });

  it('gives every route of the v1 contract its stable operationId, and no id twice', () => {
    const document = JSON.parse(committed) as Document;
    for (const [method, path, operationId] of CONTRACT) {
      assert.equal(
        document.paths[path]?.[method]?.operationId,
        operationId,
        `${method.toUpperCase()} ${path}`,
      );
    }
    const ids = Object.values(document.paths).flatMap((methods) =>
      Object.values(methods).map((op) => op.operationId),
    );
    assert.ok(
      ids.every((id) => typeof id === 'string' && id.length > 0),
      'an operation has no operationId',
    );
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  });

  it('marks every /v1 route as needing the bearer token', () => {
    const document = JSON.parse(committed) as Document;
    for (const [path, methods] of Object.entries(document.paths)) {
      if (!path.startsWith('/v1/')) continue;
      for (const [method, op] of Object.entries(methods)) {
        assert.deepEqual(op.security, [{ bearer: [] }], `${method.toUpperCase()} ${path}`);
      }
    }
  });

  it('gives every operation a 4xx problem-details response and declares its security, public routes included', () => {
    const document = JSON.parse(committed) as Document;
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        assert.ok(Array.isArray(op.security), `${method.toUpperCase()} ${path} declares its security`);
        assert.ok(
          Object.keys(op.responses).some((status) => /^4\d\d$/.test(status)),
          `${method.toUpperCase()} ${path} documents a 4xx`,
        );
      }
    }
  });

  it('passes `redocly lint` with the recommended rules: no error, no warning', async () => {
    const lint = await tool('@redocly/cli/bin/cli.js', ['lint', 'openapi.json', '--format=json']);
    const report = JSON.parse(lint.stdout) as {
      totals: { errors: number; warnings: number };
      problems: unknown[];
    };
    assert.deepEqual(
      report.totals,
      { ...report.totals, errors: 0, warnings: 0 },
      JSON.stringify(report.problems, null, 2),
    );
    assert.equal(lint.code, 0, lint.stderr);
  });

  it('has the typed client that openapi-typescript generates from it committed (run `npm run client`)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paddock-client-'));
    try {
      const out = join(dir, 'schema.d.ts');
      const generated = await tool('openapi-typescript/bin/cli.js', ['openapi.json', '--output', out]);
      assert.equal(generated.code, 0, generated.stderr);
      assert.equal(
        readFileSync(CLIENT_SCHEMA, 'utf8'),
        readFileSync(out, 'utf8'),
        'cli/api/schema.d.ts is out of date: run `npm run client`',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
