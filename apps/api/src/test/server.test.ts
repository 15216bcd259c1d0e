import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { TestDatabase } from '@tenantry/db/testing';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDACT_PATHS } from '../logger.js';
import { createApp } from '../server.js';
import { http, multiTenantEnv, openTestDatabase, signUp, testApp, testEnv } from './harness.js';

// The server around the procedures: health, the OpenAPI document, the web app, logs.

let tdb: TestDatabase;
let app: FastifyInstance;

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
  app = await testApp(tdb.db);
});

afterAll(async () => {
  await app?.close();
  await tdb?.drop();
});

describe('GET /api/health', () => {
  it('reports the database, and 503 naming Redis when the app has none', async () => {
    const res = await http(app, 'GET', '/api/health');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({
      status: 'degraded',
      db: { ok: true, latencyMs: expect.any(Number) },
      redis: { ok: false },
      failing: ['redis'],
    });
  });
});

describe('GET /api/openapi.json', () => {
  it('describes every REST path of the API surface, with cookie and bearer security', async () => {
    const res = await http(app, 'GET', '/api/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe('3.1.0');
    const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    // The SPEC §10 paths of the slices built so far; others join as they land.
    expect(operations).toEqual(
      expect.arrayContaining([
        'GET /config',
        'POST /auth/signup',
        'POST /auth/login',
        'POST /auth/logout',
        'GET /auth/me',
        'GET /orgs',
        'POST /orgs',
        'GET /orgs/{orgId}',
        'PATCH /orgs/{orgId}',
        'DELETE /orgs/{orgId}',
        'POST /orgs/{orgId}/switch',
        'POST /orgs/{orgId}/transfer-ownership',
        'POST /orgs/{orgId}/leave',
        'GET /org',
        'GET /orgs/{orgId}/members',
        'POST /orgs/{orgId}/members',
        'PATCH /orgs/{orgId}/members/{userId}',
        'DELETE /orgs/{orgId}/members/{userId}',
        'GET /orgs/{orgId}/invitations',
        'POST /orgs/{orgId}/invitations',
        'DELETE /orgs/{orgId}/invitations/{invitationId}',
        'POST /orgs/{orgId}/invitations/{invitationId}/resend',
        'GET /invitations/{token}',
        'POST /invitations/{token}/accept',
        'GET /dev/inbox',
        'GET /dev/inbox/{id}',
        'GET /admin/license',
        'POST /admin/license',
        'GET /tokens',
        'POST /tokens',
        'DELETE /tokens/{tokenId}',
        'GET /admin/tenants',
        'POST /admin/tenants',
        'DELETE /admin/tenants/{orgId}',
        'POST /admin/tenants/{orgId}/admin-tenancy',
        'PUT /admin/tenants/{orgId}/features',
        'POST /admin/tenants/{orgId}/suspend',
        'POST /admin/tenants/{orgId}/resume',
        'PATCH /admin/tenants/{orgId}/limits',
        'GET /admin/deletions/{deletionId}',
        'GET /deletions/{deletionId}',
        'GET /orgs/{orgId}/usage',
        'POST /orgs/{orgId}/restore',
        'PUT /orgs/{orgId}/logo',
        'DELETE /orgs/{orgId}/logo',
        'GET /alert-rules',
        'POST /alert-rules',
        'PATCH /alert-rules/{ruleId}',
        'DELETE /alert-rules/{ruleId}',
        'GET /alerts',
        'GET /alerts/summary',
        'GET /audit',
        'GET /audit/export',
        'POST /audit/verify',
        'GET /health',
      ]),
    );
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearerToken', 'sessionCookie']);
    expect(doc.paths['/orgs'].get.security).toEqual([{ sessionCookie: [] }, { bearerToken: [] }]);
    expect(doc.paths['/config'].get.security).toBeUndefined();
  });
});

describe('the built web app', () => {
  it('is served from WEB_DIST with an SPA fallback that leaves /api and /trpc alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenantry-web-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Tenantry</title>');
    writeFileSync(join(dir, 'app.js'), 'console.log(1)');
    const web = createApp({ env: testEnv({ WEB_DIST: dir }), db: tdb.db, logger: pino({ level: 'silent' }) });
    try {
      const index = await web.inject({ method: 'GET', url: '/settings/organization' });
      expect(index.statusCode).toBe(200);
      expect(index.body).toContain('<title>Tenantry</title>');
      expect((await web.inject({ method: 'GET', url: '/' })).body).toContain('Tenantry');
      expect((await web.inject({ method: 'GET', url: '/app.js' })).body).toBe('console.log(1)');
      const api = await web.inject({ method: 'GET', url: '/api/unknown' });
      expect(api.statusCode).toBe(404);
      expect(api.json()).toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await web.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is skipped when WEB_DIST does not exist', async () => {
    const res = await http(app, 'GET', '/settings');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('NOT_FOUND');
  });
});

describe('logs', () => {
  it('are JSON with request ids, never carry cookies or passwords, and record denied org access', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino({ level: 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
    const logged = createApp({ env: testEnv(await multiTenantEnv()), db: tdb.db, logger });
    try {
      const user = await signUp(logged, 'Logged');
      await http(logged, 'POST', '/api/auth/login', { body: { email: user.email, password: 'wrong password' } });
      const denied = await http(logged, 'GET', '/api/org', {
        cookie: user.cookie,
        headers: { 'x-org-id': 'someone-else', authorization: 'Basic c2VjcmV0' },
      });
      expect(denied.status).toBe(403);
      const text = lines.join('');
      expect(text).not.toContain('correct horse battery');
      expect(text).not.toContain('wrong password');
      expect(text).not.toContain(user.cookie.split('=')[1]!);
      expect(text).not.toContain('c2VjcmV0');
      const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(entries.every((e) => typeof e.reqId === 'string' || e.reqId === undefined)).toBe(true);
      const warning = entries.find((e) => e.event === 'org_access_denied');
      expect(warning).toMatchObject({ level: 40, userId: user.id, orgRef: 'someone-else', reason: 'not_authorized' });
      const completed = entries.filter((e) => e.msg === 'request completed');
      expect(completed.some((e) => e.userId === user.id)).toBe(true);
    } finally {
      await logged.close();
    }
  });
});
