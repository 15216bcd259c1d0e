import { type AuditEventInput, appendAuditEvent, appendAuditEvents, listAuditEvents } from '@tenantry/db';
import type { TestDatabase } from '@tenantry/db/testing';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvField, csvLine } from '../audit-export.js';
import {
  addMember,
  createOrgAs,
  type HttpResult,
  http,
  multiTenantEnv,
  openTestDatabase,
  signUp,
  type TestUser,
  testApp,
  testLicenses,
} from './harness.js';

// The audit log over the API: who may read it, filters and pages, the streamed export in
// NDJSON and CSV, the chain check naming the first tampered entry, and the entries written by
// mutations outside the tenant middleware.

let tdb: TestDatabase;
let app: FastifyInstance;
let root: TestUser;
let owner: TestUser;
let admin: TestUser;
let editor: TestUser;
let outsider: TestUser;
let org: { id: string; slug: string };

const headersFor = (orgId: string) => ({ 'x-org-id': orgId });

async function raw(url: string, user: TestUser | null, orgId = org.id) {
  const res = await app.inject({
    method: 'GET',
    url,
    headers: { ...(user ? { cookie: user.cookie } : {}), 'x-org-id': orgId },
  });
  return res;
}

/** Runs SQL as the owner of the tables (around RLS and the app role's missing privileges). */
async function asOwner(sql: string, params: unknown[]): Promise<number> {
  const client = new pg.Client({ connectionString: tdb.ownerUrl! });
  await client.connect();
  try {
    return (await client.query(sql, params)).rowCount ?? 0;
  } finally {
    await client.end();
  }
}

/** A minimal RFC 4180 reader (quoted fields, doubled quotes, CRLF inside quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || row.length > 0) throw new Error('CSV does not end with CRLF');
  return rows;
}

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
  app = await testApp(tdb.db, await multiTenantEnv());
  root = await signUp(app, 'Root');
  owner = await signUp(app, 'Owner');
  admin = await signUp(app, 'Admin');
  editor = await signUp(app, 'Editor');
  outsider = await signUp(app, 'Outsider');
  org = await createOrgAs(app, owner, 'Audit Org');
  await addMember(app, owner, org.id, admin, 'admin');
  await addMember(app, owner, org.id, editor, 'editor');
});

afterAll(async () => {
  await app?.close();
  await tdb?.drop();
});

describe('entries written outside the tenant middleware', () => {
  it("starts an org's log with its creation", async () => {
    const { events } = await tdb.db.tenant({ orgId: org.id }, (em) => listAuditEvents(em, org.id, { limit: 1000 }));
    const first = events[events.length - 1]!;
    expect(first).toMatchObject({
      seq: 1,
      action: 'org.created',
      actorType: 'user',
      actorId: owner.id,
      targetId: org.id,
    });
    expect(first.details).toMatchObject({ slug: org.slug, name: 'Audit Org' });
  });

  it("records the first sign-up and license activation in the default org's log", async () => {
    const lic = await testLicenses();
    const activated = await http(app, 'POST', '/api/admin/license', { cookie: root.cookie, body: { key: lic.valid } });
    expect(activated.status).toBe(200);
    const defaultOrg = tdb.db.defaultOrgId;
    const { events } = await tdb.db.tenant({ orgId: defaultOrg }, (em) => listAuditEvents(em, defaultOrg));
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['user.signed_up', 'license.activated']));
    expect(events.find((e) => e.action === 'license.activated')).toMatchObject({
      actorId: root.id,
      details: { licensee: 'Test MSP', features: ['multi_tenant', 'sharing'] },
    });
    // A refused key changes nothing and records nothing.
    const refused = await http(app, 'POST', '/api/admin/license', { cookie: root.cookie, body: { key: lic.tampered } });
    expect(refused.status).toBe(400);
    const after = await tdb.db.tenant({ orgId: defaultOrg }, (em) =>
      listAuditEvents(em, defaultOrg, { action: 'license.activated' }),
    );
    expect(after.events).toHaveLength(1);
  });

  it('records a revoked token in every org it reached', async () => {
    const other = await createOrgAs(app, owner, 'Audit Other');
    const made = await http(app, 'POST', '/api/tokens', {
      cookie: owner.cookie,
      headers: headersFor(org.id),
      body: { name: 'two orgs', orgIds: [org.id, other.id] },
    });
    expect(made.status).toBe(200);
    const revoked = await http(app, 'DELETE', `/api/tokens/${made.body.id}`, {
      cookie: owner.cookie,
      headers: headersFor(org.id),
    });
    expect(revoked.status).toBe(200);
    for (const orgId of [org.id, other.id]) {
      const { events } = await tdb.db.tenant({ orgId }, (em) =>
        listAuditEvents(em, orgId, { action: 'token.revoked' }),
      );
      expect(
        events.map((e) => e.targetId),
        orgId,
      ).toEqual([made.body.id]);
    }
  });
});

describe('GET /api/audit', () => {
  beforeAll(async () => {
    const events: AuditEventInput[] = Array.from({ length: 30 }, (_, i) => ({
      actorType: i % 3 === 0 ? 'system' : 'user',
      actorId: i % 3 === 0 ? null : editor.id,
      action: i % 2 === 0 ? 'test.even' : 'test.odd',
      targetType: 'thing',
      targetId: `t-${i}`,
      details: { i },
    }));
    await tdb.db.tenant({ orgId: org.id }, (em) => appendAuditEvents(em, org.id, events));
  });

  it('pages newest first by cursor and filters by actor, action and time', async () => {
    const seqs: number[] = [];
    let cursor: number | null = null;
    do {
      const url: string = `/api/audit?action=test.even&limit=4${cursor ? `&cursor=${cursor}` : ''}`;
      const page: HttpResult = await http(app, 'GET', url, {
        cookie: admin.cookie,
        headers: headersFor(org.id),
      });
      expect(page.status).toBe(200);
      expect(page.body.events.every((e: { action: string }) => e.action === 'test.even')).toBe(true);
      seqs.push(...page.body.events.map((e: { seq: number }) => e.seq));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seqs).toHaveLength(15);
    expect([...seqs].sort((a, b) => b - a)).toEqual(seqs);

    const bySystem = await http(app, 'GET', '/api/audit?actorType=system&action=test.even&limit=200', {
      cookie: owner.cookie,
      headers: headersFor(org.id),
    });
    expect(bySystem.body.events.map((e: { targetId: string }) => e.targetId)).toEqual([
      't-24',
      't-18',
      't-12',
      't-6',
      't-0',
    ]);
    const byActor = await http(app, 'GET', `/api/audit?actorId=${editor.id}&limit=200`, {
      cookie: owner.cookie,
      headers: headersFor(org.id),
    });
    expect(byActor.body.events.length).toBe(20);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const none = await http(app, 'GET', `/api/audit?from=${encodeURIComponent(future)}`, {
      cookie: owner.cookie,
      headers: headersFor(org.id),
    });
    expect(none.body).toEqual({ events: [], nextCursor: null });
    const past = await http(app, 'GET', `/api/audit?to=${encodeURIComponent(future)}&limit=1`, {
      cookie: owner.cookie,
      headers: headersFor(org.id),
    });
    expect(past.body.events).toHaveLength(1);
  });

  it('is for admins and owners of the org only', async () => {
    const asEditor = await http(app, 'GET', '/api/audit', { cookie: editor.cookie, headers: headersFor(org.id) });
    expect([asEditor.status, asEditor.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    const asOutsider = await http(app, 'GET', '/api/audit', { cookie: outsider.cookie, headers: headersFor(org.id) });
    expect([asOutsider.status, asOutsider.body.code]).toEqual([403, 'ORG_ACCESS_DENIED']);
    const anonymous = await http(app, 'GET', '/api/audit', { headers: headersFor(org.id) });
    expect([anonymous.status, anonymous.body.code]).toEqual([401, 'UNAUTHENTICATED']);
    const verifyAsEditor = await http(app, 'POST', '/api/audit/verify', {
      cookie: editor.cookie,
      headers: headersFor(org.id),
    });
    expect(verifyAsEditor.body.code).toBe('PERMISSION_DENIED');
  });

  it('answers 400 for filters it cannot use', async () => {
    for (const query of [
      'actorType=robot',
      'actorId=someone',
      'from=yesterday',
      `from=${encodeURIComponent('2026-01-02T00:00:00Z')}&to=${encodeURIComponent('2026-01-01T00:00:00Z')}`,
      'cursor=-1',
      'limit=1000',
      `action=${'a'.repeat(101)}`,
      'unknown=1',
    ]) {
      const res = await http(app, 'GET', `/api/audit?${query}`, { cookie: owner.cookie, headers: headersFor(org.id) });
      expect([res.status, res.body.code], query).toEqual([400, 'VALIDATION_FAILED']);
    }
  });
});

describe('GET /api/audit/export', () => {
  const tricky = {
    actorType: 'user' as const,
    actorId: null,
    actorLabel: 'Smith, "Jo"\r\nline two',
    action: 'test.tricky',
    targetType: 'thing',
    targetId: '=HYPERLINK("http://evil.example")',
    details: { note: 'a,b "c"\nd' },
  };

  beforeAll(async () => {
    await tdb.db.tenant({ orgId: org.id }, (em) => appendAuditEvent(em, org.id, tricky));
    // Enough entries to span several pages of the stream.
    const bulk: AuditEventInput[] = Array.from({ length: 2300 }, (_, i) => ({
      actorType: 'system',
      action: 'test.bulk',
      targetId: `b-${i}`,
    }));
    for (let i = 0; i < bulk.length; i += 500) {
      await tdb.db.tenant({ orgId: org.id }, (em) => appendAuditEvents(em, org.id, bulk.slice(i, i + 500)));
    }
  });

  it('streams every entry as NDJSON, oldest first, as an attachment with a file name', async () => {
    const res = await raw('/api/audit/export?format=ndjson', admin);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    expect(res.headers['content-disposition']).toMatch(
      new RegExp(`^attachment; filename="audit-${org.slug}-\\d{8}T\\d{6}Z\\.ndjson"$`),
    );
    const lines = res.body
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    const head = Number(res.headers['x-audit-through-seq']);
    expect(lines).toHaveLength(head);
    expect(lines.map((e) => e.seq)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
    expect(lines.filter((e) => e.action === 'test.bulk')).toHaveLength(2300);
    const t = lines.find((e) => e.action === 'test.tricky');
    expect(t).toMatchObject({ actorLabel: tricky.actorLabel, targetId: tricky.targetId, details: tricky.details });
    // The export itself is on the record.
    const { events } = await tdb.db.tenant({ orgId: org.id }, (em) =>
      listAuditEvents(em, org.id, { action: 'audit.exported' }),
    );
    expect(events[0]).toMatchObject({ actorId: admin.id, details: { format: 'ndjson', throughSeq: head } });
  });

  it('writes CSV with correct quoting that reads back to the same fields', async () => {
    const res = await raw('/api/audit/export?format=csv&action=test.tricky', owner);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(/\.csv"$/);
    const rows = parseCsv(res.body);
    expect(rows[0]).toEqual([
      'seq',
      'id',
      'occurred_at',
      'actor_type',
      'actor_id',
      'actor_label',
      'action',
      'target_type',
      'target_id',
      'ip',
      'details',
      'prev_hash',
      'hash',
    ]);
    expect(rows).toHaveLength(2);
    const row = rows[1]!;
    expect(row[5]).toBe(tricky.actorLabel);
    expect(row[6]).toBe('test.tricky');
    // A value a spreadsheet would run as a formula is defused.
    expect(row[8]).toBe(`'${tricky.targetId}`);
    expect(JSON.parse(row[10]!)).toEqual(tricky.details);
    expect(row[11]).toMatch(/^[0-9a-f]{64}$/);
    const all = parseCsv((await raw('/api/audit/export?format=csv&action=test.bulk', owner)).body);
    expect(all).toHaveLength(2301);
  });

  it('applies the same filters and refusals as the list', async () => {
    // The filters as validated apply (trimmed), not the raw query text.
    const filtered = await raw(`/api/audit/export?format=ndjson&actorType=system&action=%20test.even%20`, owner);
    expect(filtered.body.trimEnd().split('\n')).toHaveLength(5);
    for (const [user, orgId, code, status] of [
      [editor, org.id, 'PERMISSION_DENIED', 403],
      [outsider, org.id, 'ORG_ACCESS_DENIED', 403],
      [null, org.id, 'UNAUTHENTICATED', 401],
    ] as const) {
      const res = await raw('/api/audit/export?format=csv', user, orgId);
      expect([res.statusCode, res.json().code]).toEqual([status, code]);
    }
    for (const query of [
      '',
      'format=xml',
      'format=csv&actorType=robot',
      'format=csv&format=ndjson',
      'format=csv&x=1',
    ]) {
      const res = await raw(`/api/audit/export?${query}`, owner);
      expect([res.statusCode, res.json().code], query).toEqual([400, 'VALIDATION_FAILED']);
    }
  });
});

describe('POST /api/audit/verify', () => {
  it('answers ok for an untouched log, then names the first edited or deleted entry', async () => {
    const victim = await createOrgAs(app, owner, 'Tampered');
    const headers = headersFor(victim.id);
    for (let i = 0; i < 6; i++) {
      const res = await http(app, 'PATCH', `/api/orgs/${victim.id}`, {
        cookie: owner.cookie,
        body: { description: `edit ${i}` },
      });
      expect(res.status).toBe(200);
    }
    const clean = await http(app, 'POST', '/api/audit/verify', { cookie: owner.cookie, headers });
    expect(clean.status).toBe(200);
    expect(clean.body).toMatchObject({ ok: true, checked: 7, firstBroken: null });

    // Entry 4 edited in the database, as the owner of the tables.
    expect(
      await asOwner(
        `update audit_events set details = '{"description": "nothing to see"}' where org_id = $1 and seq = 4`,
        [victim.id],
      ),
    ).toBe(1);
    const edited = await http(app, 'POST', '/api/audit/verify', { cookie: owner.cookie, headers });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({
      ok: false,
      checked: 3,
      firstBroken: { seq: 4, reason: 'hash_mismatch', entry: { action: 'org.updated' } },
    });
    expect(edited.body.firstBroken.message).toMatch(/Entry 4 was changed/);

    // Entry 2 deleted: the first break is now the gap at 2.
    expect(await asOwner('delete from audit_events where org_id = $1 and seq = 2', [victim.id])).toBe(1);
    const deleted = await http(app, 'POST', '/api/audit/verify', { cookie: admin.cookie, headers });
    // The admin of Audit Org is not a member of this org: refused, and the owner sees the gap.
    expect(deleted.body.code).toBe('ORG_ACCESS_DENIED');
    const gap = await http(app, 'POST', '/api/audit/verify', { cookie: owner.cookie, headers });
    expect(gap.body).toMatchObject({ ok: false, checked: 1, firstBroken: { seq: 2, reason: 'gap', entry: null } });
    expect(gap.body.firstBroken.message).toMatch(/Entry 2 is missing/);

    // Every check is on the record, with what it found.
    const { events } = await tdb.db.tenant({ orgId: victim.id }, (em) =>
      listAuditEvents(em, victim.id, { action: 'audit.verified' }),
    );
    expect(events.map((e) => e.details.ok)).toEqual([false, false, true]);
  });
});

describe('csvField', () => {
  it('quotes only what needs quoting and defuses formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField(null)).toBe('');
    expect(csvField(42)).toBe('42');
    expect(csvField(-1)).toBe('-1');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('=1+1')).toBe("'=1+1");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('-2,3')).toBe(`"'-2,3"`);
    expect(csvLine(['a', null, 'b'])).toBe('a,,b\r\n');
  });
});
