import { validate } from '@readme/openapi-parser';
import { appRouter } from '@tenantry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createOrgOver,
  createTokenOver,
  type RestUser,
  rest,
  signUpOver,
  startTestServer,
  type TestServer,
} from './server.js';

// The REST surface: the served OpenAPI 3.1 document validates, every procedure that belongs on
// REST has a documented path, and the API reference table of Pulse's docs works as written.

let server: TestServer;
let doc: any;

beforeAll(async () => {
  server = await startTestServer({ redis: true });
  doc = await (await fetch(`${server.url}/api/openapi.json`)).json();
});

afterAll(async () => {
  await server?.close();
});

/** `METHOD /path` of every documented operation, paths as the API serves them (under /api). */
function documented(): string[] {
  return Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
    Object.keys(ops).map((method) => `${method.toUpperCase()} /api${path}`),
  );
}

describe('GET /api/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await validate(structuredClone(doc));
    expect(result.valid, JSON.stringify('errors' in result ? result.errors : [], null, 2)).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: 'http://127.0.0.1:0/api' }]);
  });

  // Procedures served by a route of their own (a file or a stream, not JSON), by the
  // operationId that documents that route.
  const RAW_ROUTES: Record<string, string> = { 'logo.get': 'logo-get', 'audit.startExport': 'audit-export' };

  it('gives every procedure except subscriptions a documented REST path', () => {
    const operationIds = new Set(
      Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap((ops) =>
        Object.values(ops).map((op) => op.operationId),
      ),
    );
    const procedures = Object.entries(appRouter._def.procedures as Record<string, any>);
    const missing = procedures
      .filter(([, procedure]) => procedure._def.type !== 'subscription')
      .filter(([path, procedure]) => {
        const raw = RAW_ROUTES[path];
        if (raw) return !operationIds.has(raw);
        const openapi = procedure._def.meta?.openapi;
        return !openapi || !operationIds.has(openapi.operationId ?? path.replace(/\./g, '-'));
      })
      .map(([path]) => path);
    expect(missing, 'procedures without a REST path (add meta.openapi)').toEqual([]);
  });

  it('documents the health endpoint and the error body every error shares', () => {
    expect(doc.paths['/health'].get.responses['503']).toBeDefined();
    expect(doc.components.schemas.ApiError.required).toEqual(['code', 'message']);
    expect(doc.paths['/orgs'].post.responses['201']).toBeDefined();
    expect(doc.paths['/orgs/{orgId}/members'].get.responses['501'].description).toContain('MULTI_TENANT_DISABLED');
    expect(doc.paths['/orgs/{orgId}/members'].get.responses['402'].description).toContain('LICENSE_REQUIRED');
  });
});

/** The API reference table of Pulse's multi-tenant docs, row by row. */
const PULSE_REFERENCE = [
  'GET /api/orgs',
  'POST /api/orgs',
  'GET /api/orgs/{id}',
  'PATCH /api/orgs/{id}',
  'DELETE /api/orgs/{id}',
  'GET /api/orgs/{id}/members',
  'POST /api/orgs/{id}/members',
  'PATCH /api/orgs/{id}/members/{userId}',
  'DELETE /api/orgs/{id}/members/{userId}',
  'GET /api/orgs/{id}/shares',
  'GET /api/orgs/{id}/shares/incoming',
  'POST /api/orgs/{id}/shares',
  'DELETE /api/orgs/{id}/shares/{shareId}',
];

/** `/api/orgs/{id}/members/{userId}` and `/api/orgs/{orgId}/members/{userId}` are the same route. */
function shape(operation: string): string {
  return operation.replace(/\{[^}]+\}/g, '{}');
}

describe("Pulse's API reference", () => {
  it('is documented row by row', () => {
    const ours = new Set(documented().map(shape));
    expect(PULSE_REFERENCE.filter((row) => !ours.has(shape(row)))).toEqual([]);
  });

  it('works as its curl examples are written: bearer token, JSON bodies, the member rows', async () => {
    const owner = await signUpOver(server.url, 'Pulse Owner');
    const colleague: RestUser = await signUpOver(server.url, 'Pulse Colleague');
    // "Creating an Organization" (a session here: a token reaches only the orgs it is bound to).
    const created = await rest(server.url, 'POST', '/api/orgs', {
      cookie: owner.cookie,
      body: { name: 'Production Datacenter', description: 'EU production infrastructure' },
    });
    expect(created.status).toBe(201);
    const orgId = created.body.id as string;
    const { token } = await createTokenOver(server.url, owner, { orgIds: [orgId] });

    const list = await rest(server.url, 'GET', '/api/orgs', { token });
    expect(list.status).toBe(200);
    expect(list.body.orgs.map((o: { id: string }) => o.id)).toContain(orgId);
    expect((await rest(server.url, 'GET', `/api/orgs/${orgId}`, { token })).body.name).toBe('Production Datacenter');
    const patched = await rest(server.url, 'PATCH', `/api/orgs/${orgId}`, { token, body: { description: 'EU prod' } });
    expect(patched.body.description).toBe('EU prod');

    // "Managing Members"
    expect((await rest(server.url, 'GET', `/api/orgs/${orgId}/members`, { token })).status).toBe(200);
    const added = await rest(server.url, 'POST', `/api/orgs/${orgId}/members`, {
      token,
      body: { userId: colleague.id, role: 'editor' },
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ userId: colleague.id, role: 'editor' });
    const promoted = await rest(server.url, 'PATCH', `/api/orgs/${orgId}/members/${colleague.id}`, {
      token,
      body: { role: 'admin' },
    });
    expect(promoted.body.role).toBe('admin');
    expect((await rest(server.url, 'DELETE', `/api/orgs/${orgId}/members/${colleague.id}`, { token })).status).toBe(
      200,
    );

    // Deleting answers 202 with the deletion to follow.
    const other = await createOrgOver(server.url, owner, 'Doomed');
    const deleted = await rest(server.url, 'DELETE', `/api/orgs/${other.id}`, {
      cookie: owner.cookie,
      body: { confirm: other.slug },
    });
    expect(deleted.status).toBe(202);
    expect(deleted.body.deletionId).toEqual(expect.any(String));
  });

  it('works as its sharing examples are written: create a share, view incoming shares, remove it', async () => {
    const owner = await signUpOver(server.url, 'Pulse Sharer');
    const orgId = (await createOrgOver(server.url, owner, 'Sharing DC')).id;
    const otherOrgId = (await createOrgOver(server.url, owner, 'Partner DC')).id;
    const { token } = await createTokenOver(server.url, owner, { orgIds: [orgId, otherOrgId] });
    const agent = await rest(server.url, 'POST', '/api/agents', {
      token,
      headers: { 'x-org-id': orgId },
      body: { name: 'pve' },
    });
    expect(agent.status).toBe(201);
    const reported = await rest(server.url, 'POST', '/api/agent/report', {
      token: agent.body.token,
      body: { resources: [{ type: 'host', name: 'pve-1', status: 'online', cpu: 0.42, memory: 0.61, disk: 0.3 }] },
    });
    expect(reported.status).toBe(200);
    const resourceId = (await rest(server.url, 'GET', '/api/resources', { token, headers: { 'x-org-id': orgId } })).body
      .resources[0].id as string;

    // "Create a share"
    const share = await rest(server.url, 'POST', `/api/orgs/${orgId}/shares`, {
      token,
      body: { targetOrgId: otherOrgId, resourceType: 'host', resourceId, role: 'viewer' },
    });
    expect(share.status).toBe(201);
    // "View incoming shares"
    const incoming = await rest(server.url, 'GET', `/api/orgs/${otherOrgId}/shares/incoming`, { token });
    expect(incoming.body.shares).toEqual([expect.objectContaining({ id: share.body.id, resourceId, role: 'viewer' })]);
    const outgoing = await rest(server.url, 'GET', `/api/orgs/${orgId}/shares`, { token });
    expect(outgoing.body.shares.map((s: { id: string }) => s.id)).toEqual([share.body.id]);
    const removed = await rest(server.url, 'DELETE', `/api/orgs/${orgId}/shares/${share.body.id}`, { token });
    expect(removed.status).toBe(200);
    expect((await rest(server.url, 'GET', `/api/orgs/${otherOrgId}/shares/incoming`, { token })).body.shares).toEqual(
      [],
    );
  });
});
