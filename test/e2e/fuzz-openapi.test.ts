/**
 * Property-based fuzzing of every operation in openapi.json: path parameters, query and bodies
 * drawn from the operation's own schemas, mixed with boundary and hostile values (NUL bytes,
 * broken Unicode, over-long strings, deep nesting, `__proto__`, wrong types, odd media types
 * and headers). Whatever the input: no 5xx, `application/problem+json` with an upper-case code
 * on every 4xx, and a refused request writes nothing (row counts of the main tables).
 *
 * Fixed seed and bounded budget: FUZZ_SEED (20261201) and FUZZ_RUNS (runs per operation, 12).
 * A failure prints the seed, the path to replay it and the request that failed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { bearer, clusterBody, issueToken, startPaddock, TestPaddock } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const RUNS = Number(process.env.FUZZ_RUNS ?? 12);
const TABLES = [
  'backends',
  'projects',
  'clusters',
  'node_pools',
  'operations',
  'api_tokens',
  'project_members',
  'project_quotas',
];
const COUNT_SQL = `SELECT ${TABLES.map((t) => `(SELECT count(*) FROM ${t})::int AS ${t}`).join(', ')}`;
/** Long-polls are cut after this; an answer not yet given is not a failure. */
const CLIENT_TIMEOUT_MS = 3_000;

interface Schema {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  format?: string;
  nullable?: boolean;
}

interface Operation {
  method: string;
  path: string;
  operationId: string;
  pathParams: string[];
  queryParams: Array<{ name: string; schema: Schema }>;
  body: Schema | null;
}

const openapi = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'openapi.json'), 'utf8')) as {
  paths: Record<
    string,
    Record<
      string,
      {
        operationId: string;
        parameters?: Array<{ in: string; name: string; schema: Schema }>;
        requestBody?: { content: Record<string, { schema: Schema }> };
      }
    >
  >;
  components: { schemas: Record<string, Schema> };
};

const operations: Operation[] = Object.entries(openapi.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, op]) => ({
    method: method.toUpperCase(),
    path,
    operationId: op.operationId,
    pathParams: (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
    queryParams: (op.parameters ?? [])
      .filter((p) => p.in === 'query')
      .map((p) => ({ name: p.name, schema: p.schema })),
    body: op.requestBody?.content['application/json']?.schema ?? null,
  })),
);

// ---------------------------------------------------------------------------------------------
// Arbitraries

const hostileString = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x\udfffy',
    '..',
    '../..',
    '%',
    '%00',
    '%ff',
    '💥',
    'ｗｅｂ',
    '\n',
    'null',
    '-1',
    '1e309',
    'NaN',
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer({ min: 64, max: 300 }).map((n) => 'a'.repeat(n)),
);

/** Any JSON value, small enough for fast-check to print (deep and huge ones are raw bodies). */
const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, 0, -1, 1.5, 1e308, [], {}, '', '\u0000'),
  hostileString,
  fc.constant(JSON.parse('{"__proto__": {"admin": true}}')),
  fc.constant({ constructor: { prototype: {} } }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Bodies sent as they are: malformed, deep, wide or huge JSON, and other media. */
const rawBodies = fc.oneof(
  fc.constantFrom('{', '{"a":', '<x/>', 'a=b', '\u0000', '"\\u0000"', '[]'.repeat(10), '{"a":"\\ud800"}'),
  fc.integer({ min: 33, max: 5_000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  fc.integer({ min: 33, max: 20_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  fc.integer({ min: 1_001, max: 3_000 }).map((n) => JSON.stringify({ nodePools: new Array(n).fill(1) })),
  fc.integer({ min: 60_000, max: 200_000 }).map((n) => JSON.stringify({ name: 'a'.repeat(n) })),
);

function resolve(schema: Schema): Schema {
  if (!schema.$ref) return schema;
  return openapi.components.schemas[schema.$ref.replace('#/components/schemas/', '')];
}

/** Values shaped by the schema, with a hostile value in any place now and then. */
function fromSchema(input: Schema, depth = 0): fc.Arbitrary<unknown> {
  const schema = resolve(input);
  let shaped: fc.Arbitrary<unknown>;
  if (schema.enum) shaped = fc.constantFrom(...schema.enum);
  else if (schema.type === 'object' || schema.properties) {
    const props = Object.entries(schema.properties ?? {});
    const record = fc.record(
      Object.fromEntries(props.map(([k, s]) => [k, depth > 3 ? hostileJson : fromSchema(s, depth + 1)])),
      { requiredKeys: [] },
    );
    const extra =
      schema.additionalProperties && typeof schema.additionalProperties === 'object'
        ? fc.dictionary(fc.string({ maxLength: 12 }), fromSchema(schema.additionalProperties, depth + 1), {
            maxKeys: 3,
          })
        : fc.constant({});
    shaped = fc.tuple(record, extra).map(([a, b]) => ({ ...b, ...a }));
  } else if (schema.type === 'array') {
    shaped = fc.array(schema.items ? fromSchema(schema.items, depth + 1) : hostileJson, { maxLength: 4 });
  } else if (schema.type === 'integer' || schema.type === 'number') {
    shaped = fc.oneof(
      fc.integer({ min: schema.minimum ?? -10, max: Math.min(schema.maximum ?? 1_000, 1_000_000) }),
      fc.constantFrom(-1, 0, 2 ** 31, 2 ** 53 + 1, 0.5),
    );
  } else if (schema.type === 'boolean') shaped = fc.boolean();
  else if (schema.format === 'date-time')
    shaped = fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      hostileString,
    );
  else shaped = fc.oneof(fc.constantFrom('web', 'c1', 'm1.large', 'tokyo', 'sim-1', 'alice'), hostileString);
  return fc.oneof({ weight: 4, arbitrary: shaped }, { weight: 1, arbitrary: hostileJson });
}

const pathValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('web', 'c1', 'workers', 'control', 'sim-1', 'alice', 'nope') },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 3, arbitrary: hostileString.filter((s) => s.length < 2_000) },
);

const caller = fc.constantFrom('admin', 'member', 'none', 'garbage', 'wrong-format');
const contentType = fc.constantFrom(
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/xml',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  'application/merge-patch+json',
  '',
);
const extraHeaders = fc.record(
  {
    'idempotency-key': fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('k1', 'k2', 'x'.repeat(300))),
    'x-request-id': fc.string({ maxLength: 200 }),
    accept: fc.constantFrom('application/json', 'text/html', '*/*'),
  },
  { requiredKeys: [] },
);

// ---------------------------------------------------------------------------------------------

const encodePathValue = (value: string) => {
  try {
    return encodeURIComponent(value);
  } catch {
    return value.replace(/[^A-Za-z0-9._~-]/g, '%ff');
  }
};

describe('fuzzing every operation of openapi.json', () => {
  let paddock: TestPaddock;
  let sim: TestSimulator;
  let memberSecret: string;

  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
    paddock = await startPaddock({
      workers: 'none',
      // The per-address limit would soon refuse everything from this one address.
      env: { PADDOCK_RATE_LIMIT_ANONYMOUS_PER_MINUTE: '0', PADDOCK_LONG_POLL_MAX_PER_TOKEN: '3' },
    });
    assert.equal((await paddock.registerBackend('sim-1', sim, { region: 'tokyo' })).status, 201);
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'web' })).status, 201);
    assert.equal(
      (await paddock.request('POST', '/v1/admin/projects/web/members', { subject: 'alice' })).status,
      201,
    );
    assert.equal((await paddock.request('POST', '/v1/projects/web/clusters', clusterBody('c1'))).status, 202);
    memberSecret = (await issueToken(paddock, { subject: 'alice', role: 'member' })).secret;
    console.log(`# fuzz seed ${SEED}, ${RUNS} runs per operation (FUZZ_SEED, FUZZ_RUNS)`);
  });

  after(async () => {
    await paddock?.close();
    await sim?.close();
  });

  const counts = async () => (await paddock.db.query(COUNT_SQL)).rows[0] as Record<string, number>;

  for (const op of operations) {
    it(`${op.operationId}: ${op.method} ${op.path}`, async () => {
      const queryArb = fc.array(
        fc.tuple(
          fc.oneof(
            {
              weight: 4,
              arbitrary: fc.constantFrom(...op.queryParams.map((q) => q.name), 'limit', 'cursor'),
            },
            { weight: 1, arbitrary: hostileString },
          ),
          fc.oneof(
            fc.constantFrom(
              '1',
              '0',
              '500',
              '501',
              '-1',
              '60',
              '61',
              'abc',
              'eyJhIjoxfQ',
              'WyJcdTAwMDAiLCJ4Il0',
            ),
            hostileString,
          ),
        ),
        { maxLength: 3 },
      );
      const bodyArb: fc.Arbitrary<unknown> = op.body
        ? fromSchema(op.body)
        : fc.oneof(fc.constant(undefined), hostileJson);
      const request = fc.record({
        params: fc.tuple(...op.pathParams.map(() => pathValue), fc.constant(null)),
        query: queryArb,
        body: bodyArb,
        rawBody: fc.option(rawBodies, { freq: 4 }),
        contentType,
        caller,
        headers: extraHeaders,
      });

      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          let path = op.path;
          op.pathParams.forEach((name, i) => {
            path = path.replace(`{${name}}`, encodePathValue(String(r.params[i])));
          });
          const query = r.query.map(([k, v]) => `${encodePathValue(k)}=${encodePathValue(v)}`).join('&');
          const url = `${paddock.url}${path}${query ? `?${query}` : ''}`;
          const auth: Record<string, string> =
            r.caller === 'admin'
              ? { authorization: 'Bearer test-admin-token-0123456789abcdefghij' }
              : r.caller === 'member'
                ? bearer(memberSecret)
                : r.caller === 'garbage'
                  ? { authorization: 'Bearer pdk_00000000000000000000000000' }
                  : r.caller === 'wrong-format'
                    ? { authorization: 'Basic Zm9vOmJhcg==' }
                    : {};
          const body = r.rawBody ?? (r.body === undefined ? undefined : JSON.stringify(r.body));
          const headers: Record<string, string> = { ...auth };
          for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) headers[k] = v;
          if (body !== undefined && r.contentType !== '') headers['content-type'] = r.contentType;
          const before = await counts();
          let status: number;
          let type: string;
          let text: string;
          try {
            const response = await fetch(url, {
              method: op.method,
              headers,
              body: op.method === 'GET' ? undefined : body,
              signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
            });
            status = response.status;
            type = response.headers.get('content-type') ?? '';
            text = await response.text();
          } catch (error) {
            // A header value fetch refuses to send, or a long-poll still waiting: nothing to judge.
            if ((error as Error).name === 'TimeoutError' || error instanceof TypeError) return;
            throw error;
          }
          const shown = `${op.method} ${url.slice(0, 300)} → ${status} ${text.slice(0, 300)}`;
          assert.ok(status < 500, `5xx: ${shown}`);
          if (status >= 400) {
            assert.match(type, /^application\/problem\+json/, `not problem+json: ${shown}`);
            const problem = JSON.parse(text) as { code?: unknown; status?: unknown };
            assert.match(String(problem.code), /^[A-Z][A-Z_]*$/, `no code: ${shown}`);
            assert.equal(problem.status, status, shown);
            assert.deepEqual(await counts(), before, `a refused request wrote: ${shown}`);
          }
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true, verbose: 1 },
      );
    });
  }
});
