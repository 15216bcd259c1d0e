import { randomUUID } from 'node:crypto';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fixtures, PATH_FIXTURES, RECIPES } from './contract-fixtures.js';
import { type RestUser, signUpOver, startTestServer, type TestServer } from './server.js';

/**
 * The generated contract test: every operation of the served OpenAPI document is called with
 * a valid request built from its schemas (plus fixtures for ids) and with invalid ones, and
 * must answer as documented: the success status with a body that matches its schema, or a
 * documented error status with a `{code, message}` body. Operations added to the API are
 * covered as soon as they are documented; a new path parameter needs a fixture.
 */

type Schema = Record<string, any>;
interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema: Schema;
}
interface Operation {
  operationId: string;
  security?: unknown[];
  parameters?: Parameter[];
  requestBody?: { content: { 'application/json': { schema: Schema } } };
  responses: Record<string, { content?: Record<string, { schema: Schema } | undefined> }>;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

let server: TestServer;
let admin: RestUser;
let doc: { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema> } };
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);

const operations: { method: string; path: string; op: Operation }[] = [];
/** Fixtures of the invalid requests, which are refused before they change anything. */
let refused: Fixtures;

beforeAll(async () => {
  // A grace period, so a scheduled deletion can be restored (`deletions-restore`).
  server = await startTestServer({ redis: true, env: { DELETION_GRACE: '1h' } });
  admin = await signUpOver(server.url, 'Contract Admin');
  expect(admin.platformRole).toBe('superadmin');
  doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as typeof doc;
  ajv.addSchema({ $id: 'tenantry-openapi', components: doc.components });
  refused = new Fixtures(server.url, admin, server.prefix);
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) if (item[method]) operations.push({ method, path, op: item[method]! });
  }
});

afterAll(async () => {
  await server?.close();
});

/** Points the document's local `$ref`s at the registered document. */
function rebase(schema: Schema): Schema {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"tenantry-openapi#/components/'));
}

const validators = new Map<string, ValidateFunction>();
function validatorFor(schema: Schema): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile(rebase(schema));
    validators.set(key, validate);
  }
  return validate;
}

let counter = 0;

/** A value that satisfies `schema` (required properties only), named after the field. */
function generate(schema: Schema, name = 'value'): unknown {
  if (schema.$ref) {
    const target = schema.$ref.replace('#/components/schemas/', '');
    return generate(doc.components.schemas[target]!, name);
  }
  const variants = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (variants) return generate(variants.find((v) => v.type !== 'null') ?? variants[0]!, name);
  if (schema.enum) return schema.enum[0];
  if ('const' in schema) return schema.const;
  const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const key of (schema.required as string[] | undefined) ?? [])
        out[key] = generate(schema.properties[key], key);
      return out;
    }
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => generate(schema.items ?? {}, name));
    case 'integer':
    case 'number':
      return Math.max(schema.minimum ?? 1, Math.min(schema.maximum ?? 1, 1));
    case 'boolean':
      return true;
    default: {
      counter += 1;
      if (schema.format === 'uuid') return randomUUID();
      if (schema.format === 'uri' || schema.format === 'url' || /url$/i.test(name)) return 'https://example.com/x.png';
      if (schema.format === 'email' || /email$/i.test(name))
        return `contract-${counter}-${randomUUID().slice(0, 6)}@example.com`;
      const base = `contract-${counter}-value`;
      const min = schema.minLength ?? 0;
      const text = base.length < min ? base.padEnd(min, 'x') : base;
      return schema.maxLength !== undefined ? text.slice(0, schema.maxLength) : text;
    }
  }
}

interface Call {
  method: string;
  path: string;
  /** The path parameters `path` was filled with. */
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  cookie?: string | null;
  bearer?: string | null;
  headers?: Record<string, string>;
}

async function call(req: Call): Promise<{ status: number; body: any; bytes: Buffer; contentType: string }> {
  const headers: Record<string, string> = { origin: server.url, ...req.headers };
  if (req.cookie) headers.cookie = req.cookie;
  if (req.bearer) headers.authorization = `Bearer ${req.bearer}`;
  if (req.body !== undefined) headers['content-type'] = 'application/json';
  const qs = req.query && Object.keys(req.query).length > 0 ? `?${new URLSearchParams(req.query)}` : '';
  const res = await fetch(`${server.url}/api${req.path}${qs}`, {
    method: req.method.toUpperCase(),
    headers,
    ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
  });
  const contentType = res.headers.get('content-type') ?? '';
  const bytes = Buffer.from(await res.arrayBuffer());
  const json = /^application\/json/.test(contentType);
  return {
    status: res.status,
    body: json && bytes.length > 0 ? JSON.parse(bytes.toString('utf8')) : undefined,
    bytes,
    contentType,
  };
}

/** The template with its parameters filled in. */
function fill(template: string, params: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_match, name: string) => encodeURIComponent(params[name] ?? ''));
}

/**
 * A valid request for the operation, with fresh fixtures (or shared ones, for requests that
 * are refused before they change anything).
 */
async function validRequest(method: string, path: string, op: Operation, shared?: Fixtures): Promise<Call> {
  const fixtures = shared ?? new Fixtures(server.url, admin, server.prefix);
  const recipe = RECIPES[op.operationId] ?? {};
  const params: Record<string, string> = {};
  const query: Record<string, string> = {};
  for (const param of op.parameters ?? []) {
    if (param.in === 'path') {
      const fixture = PATH_FIXTURES[param.name];
      if (!fixture) {
        throw new Error(
          `No fixture for the path parameter "${param.name}" of ${op.operationId}: add one to PATH_FIXTURES in tests/api/contract-fixtures.ts.`,
        );
      }
      params[param.name] = await fixture(fixtures);
    } else if (param.in === 'query' && param.required) {
      query[param.name] = String(generate(param.schema, param.name));
    }
  }
  Object.assign(params, (await recipe.params?.(fixtures)) ?? {});
  Object.assign(query, (await recipe.query?.(fixtures)) ?? {});
  const bodySchema = op.requestBody?.content['application/json'].schema;
  const body = bodySchema
    ? { ...(generate(bodySchema) as object), ...((await recipe.body?.(fixtures)) ?? {}) }
    : undefined;
  const bearer = recipe.bearer ? await recipe.bearer(fixtures) : null;
  const cookie = bearer ? null : recipe.cookie ? await recipe.cookie(fixtures) : admin.cookie;
  const headers = (await recipe.headers?.(fixtures)) ?? {};
  return { method, path: fill(path, params), params, query, body, cookie, bearer, headers };
}

function successStatus(op: Operation): string {
  const ok = Object.keys(op.responses).filter((s) => s.startsWith('2'));
  expect(ok, `${op.operationId} documents one success status`).toHaveLength(1);
  return ok[0]!;
}

function expectDocumentedError(op: Operation, res: { status: number; body: any }, what: string) {
  expect(res.status, `${op.operationId} ${what}: ${JSON.stringify(res.body)}`).toBeGreaterThanOrEqual(400);
  expect(res.status, `${op.operationId} ${what} never fails on the server`).toBeLessThan(500);
  const documented = op.responses[String(res.status)];
  expect(documented, `${op.operationId} documents ${res.status} (${what})`).toBeDefined();
  const schema = documented!.content?.['application/json']?.schema;
  expect(schema, `${op.operationId} documents the body of ${res.status}`).toBeDefined();
  const validate = validatorFor(schema!);
  expect(validate(res.body), `${op.operationId} ${what}: ${ajv.errorsText(validate.errors)}`).toBe(true);
  expect(res.body.code).toMatch(/^[A-Z][A-Z0-9_]*$/);
  expect(res.body.message.length).toBeGreaterThan(0);
}

describe('the OpenAPI contract', () => {
  it('documents operations to test', () => {
    expect(operations.length).toBeGreaterThanOrEqual(30);
  });

  it('answers every valid request with the documented status and a body that matches its schema', async () => {
    for (const { method, path, op } of operations) {
      const recipe = RECIPES[op.operationId];
      const fixtures = new Fixtures(server.url, admin, server.prefix);
      await recipe?.before?.(fixtures);
      const req = await validRequest(method, path, op, fixtures);
      const res = await call(req);
      if (recipe?.expect) {
        expect(res.status, `${op.operationId}: ${recipe.expect.because}`).toBe(recipe.expect.status);
        expect(res.body.code).toBe(recipe.expect.code);
        expectDocumentedError(op, res, 'valid request');
        continue;
      }
      const status = successStatus(op);
      expect(res.status, `${method.toUpperCase()} ${req.path} → ${JSON.stringify(res.body)}`).toBe(Number(status));
      const documented = Object.keys(op.responses[status]!.content ?? {});
      const served = res.contentType.split(';')[0]!.trim();
      expect(documented, `${op.operationId} documents ${served}`).toContain(served);
      if (served !== 'application/json') {
        // Files and streams (logo, audit export): the documented type, and a body.
        expect(res.bytes.length, `${op.operationId} answers a body`).toBeGreaterThan(0);
        continue;
      }
      const schema = op.responses[status]!.content?.['application/json']?.schema;
      expect(schema, `${op.operationId} documents its success body`).toBeDefined();
      const validate = validatorFor(schema!);
      expect(
        validate(res.body),
        `${op.operationId}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(res.body)}`,
      ).toBe(true);
    }
  });

  it('answers 401 {code, message} to every protected operation called without credentials', async () => {
    for (const { method, path, op } of operations.filter((o) => o.op.security)) {
      const req = await validRequest(method, path, op, refused);
      const res = await call({ ...req, cookie: null, bearer: null });
      expect(res.status, op.operationId).toBe(401);
      expect(res.body.code).toBe('UNAUTHENTICATED');
      expectDocumentedError(op, res, 'without credentials');
    }
  });

  it('answers 400 {code, message, issues} to bodies with an unknown field or a wrong type', async () => {
    for (const { method, path, op } of operations.filter((o) => o.op.requestBody)) {
      const req = await validRequest(method, path, op, refused);
      const body = req.body as Record<string, unknown>;
      const unknown = await call({ ...req, body: { ...body, unexpectedField: true } });
      expect(unknown.status, `${op.operationId} with an unknown field`).toBe(400);
      expect(unknown.body.code).toBe('VALIDATION_FAILED');
      expectDocumentedError(op, unknown, 'with an unknown field');

      const schema = op.requestBody!.content['application/json'].schema;
      const field = Object.keys(schema.properties ?? {})[0];
      if (!field) continue;
      const wrong = await call({ ...req, body: { ...body, [field]: { not: 'the right type' } } });
      expect(wrong.status, `${op.operationId} with ${field} of the wrong type`).toBe(400);
      expect(wrong.body.issues?.some((i: { path: unknown[] }) => i.path[0] === field)).toBe(true);
      expectDocumentedError(op, wrong, `with ${field} of the wrong type`);
    }
  });

  it('answers 400 to path and query parameters that break their schema', async () => {
    for (const { method, path, op } of operations) {
      for (const param of (op.parameters ?? []).filter((p) => p.in === 'path' || p.in === 'query')) {
        const req = await validRequest(method, path, op, refused);
        const bad = param.schema.format === 'uuid' ? 'not-a-uuid' : 'X'.repeat((param.schema.maxLength ?? 100) + 1);
        const res =
          param.in === 'path'
            ? await call({ ...req, path: fill(path, { ...req.params, [param.name]: bad }) })
            : await call({ ...req, query: { ...req.query, [param.name]: bad } });
        expect(res.status, `${op.operationId} with a bad ${param.in} parameter ${param.name}`).toBe(400);
        expectDocumentedError(op, res, `with a bad ${param.name}`);
      }
    }
  });

  it('answers {code, message} to a method a documented path does not have', async () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      if (item.put || path.includes('{')) continue;
      const res = await call({ method: 'put', path, body: {}, cookie: admin.cookie });
      expect(res.status, `PUT ${path}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `PUT ${path}`).toBeLessThan(500);
      expect(res.body).toEqual({ code: expect.stringMatching(/^[A-Z_]+$/), message: expect.any(String) });
    }
  });
});
