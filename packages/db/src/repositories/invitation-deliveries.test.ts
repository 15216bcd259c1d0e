import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../db.js';
import { createTestDatabase, type TestDatabase } from '../testing.js';
import { appendAuditEvent, listAuditEvents, verifyAuditChain } from './audit.js';
import { recordInvitationsSent } from './invitation-deliveries.js';
import {
  createInvitation,
  findInvitation,
  invitationSendState,
  isMemberByEmail,
  listOrgIdsForInvitationSweep,
  prepareResend,
  revokeInvitation,
} from './invitations.js';
import { createOrg } from './orgs.js';
import { createUser } from './users.js';

vi.setConfig({ hookTimeout: 60_000, testTimeout: 30_000 });

const inDays = (n: number) => new Date(Date.now() + n * 86_400_000);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe.each(['postgresql', 'pglite'] as const)('recording invitation mails on %s', (kind) => {
  let t: TestDatabase;
  let db: Db;
  const orgs: string[] = [];
  let owner: string;

  const invite = (orgId: string, email: string) =>
    db.tenant({ orgId }, (em) =>
      createInvitation(em, {
        orgId,
        email,
        role: 'viewer',
        expiresAt: inDays(7),
        invitedById: owner,
        tokenHash: sha256(email),
      }),
    );
  const auditOf = (orgId: string) =>
    db.tenant({ orgId }, async (em) => ({
      events: (await listAuditEvents(em, orgId, { limit: 100 })).events,
      chain: await verifyAuditChain(em, orgId),
    }));

  beforeAll(async () => {
    t = await createTestDatabase({ kind });
    db = t.db;
    await db.platform({}, async (em) => {
      owner = (await createUser(em, { email: 'owner@deliveries.test', name: 'Owner', passwordHash: 'x' })).id;
      for (const slug of ['del-a', 'del-b', 'del-c']) {
        orgs.push((await createOrg(em, { slug, name: slug, ownerId: owner })).id);
      }
    });
  });
  afterAll(async () => {
    await t?.drop();
  });

  describe('when mails of several orgs are recorded together', () => {
    it('marks each sent with its attempts and appends one intact audit entry per mail to its own org', async () => {
      const [a, b] = orgs as [string, string];
      // Org A's chain already has an entry: the batch continues it.
      await db.tenant({ orgId: a }, (em) => appendAuditEvent(em, a, { actorType: 'system', action: 'test.before' }));
      const a1 = await invite(a, 'a1@deliveries.test');
      const a2 = await invite(a, 'a2@deliveries.test');
      const b1 = await invite(b, 'b1@deliveries.test');
      const recorded = await recordInvitationsSent(db, [
        { orgId: b, id: b1.id, sendCount: 1, email: b1.email, attempts: 1 },
        { orgId: a, id: a1.id, sendCount: 1, email: a1.email, attempts: 3 },
        { orgId: a, id: a2.id, sendCount: 1, email: a2.email, attempts: 1 },
      ]);
      expect(recorded).toEqual([true, true, true]);
      expect(await db.tenant({ orgId: a }, (em) => findInvitation(em, a, a1.id))).toMatchObject({
        deliveryState: 'sent',
        deliveryAttempts: 3,
        sentAt: expect.any(Date),
      });
      const inA = await auditOf(a);
      expect(inA.chain).toMatchObject({ ok: true, checked: 3 });
      expect(inA.events.map((e) => [e.action, e.targetId]).reverse()).toEqual([
        ['test.before', null],
        ['invitation.sent', a1.id],
        ['invitation.sent', a2.id],
      ]);
      expect(inA.events[1]).toMatchObject({
        actorType: 'system',
        targetType: 'invitation',
        details: { email: 'a1@deliveries.test', sendCount: 1, attempts: 3 },
      });
      const inB = await auditOf(b);
      expect(inB.chain).toMatchObject({ ok: true, checked: 1 });
      expect(inB.events).toEqual([expect.objectContaining({ action: 'invitation.sent', targetId: b1.id })]);
    });

    it('records nothing for a send that was resent since, recorded already, or named under another org', async () => {
      const [a, b, c] = orgs as [string, string, string];
      const resent = await invite(c, 'resent@deliveries.test');
      await db.tenant({ orgId: c }, (em) => prepareResend(em, c, resent.id, inDays(7), sha256('new')));
      const once = await invite(c, 'once@deliveries.test');
      const foreign = await invite(b, 'foreign@deliveries.test');
      const before = (await auditOf(c)).events.length;
      expect(
        await recordInvitationsSent(db, [{ orgId: c, id: once.id, sendCount: 1, email: once.email, attempts: 1 }]),
      ).toEqual([true]);
      const recorded = await recordInvitationsSent(db, [
        { orgId: c, id: resent.id, sendCount: 1, email: resent.email, attempts: 1 },
        { orgId: c, id: once.id, sendCount: 1, email: once.email, attempts: 2 },
        { orgId: a, id: foreign.id, sendCount: 1, email: foreign.email, attempts: 1 },
      ]);
      expect(recorded).toEqual([false, false, false]);
      expect(await db.tenant({ orgId: c }, (em) => findInvitation(em, c, resent.id))).toMatchObject({
        sendCount: 2,
        deliveryState: 'queued',
      });
      expect(await db.tenant({ orgId: b }, (em) => findInvitation(em, b, foreign.id))).toMatchObject({
        deliveryState: 'queued',
      });
      const inC = await auditOf(c);
      expect(inC.events.length - before).toBe(1);
      expect(inC.chain.ok).toBe(true);
    });
  });

  describe('where a mail job stands before sending again', () => {
    it('is due until recorded, then sent; superseded once resent or revoked', async () => {
      const c = orgs[2]!;
      const state = (id: string, sendCount: number) =>
        db.tenant({ orgId: c }, (em) => invitationSendState(em, c, id, sendCount));
      const inv = await invite(c, 'state@deliveries.test');
      expect(await state(inv.id, 1)).toBe('due');
      await recordInvitationsSent(db, [{ orgId: c, id: inv.id, sendCount: 1, email: inv.email, attempts: 1 }]);
      expect(await state(inv.id, 1)).toBe('sent');
      await db.tenant({ orgId: c }, (em) => prepareResend(em, c, inv.id, inDays(7), sha256('again')));
      expect(await state(inv.id, 1)).toBe('superseded');
      expect(await state(inv.id, 2)).toBe('due');
      await db.tenant({ orgId: c }, (em) => revokeInvitation(em, c, inv.id));
      expect(await state(inv.id, 2)).toBe('superseded');
      expect(await state('00000000-0000-4000-8000-000000000000', 1)).toBe('superseded');
    });
  });

  it('finds members by email, in their org only', async () => {
    const [a, b] = orgs as [string, string];
    expect(await db.tenant({ orgId: a }, (em) => isMemberByEmail(em, a, ' OWNER@deliveries.test'))).toBe(true);
    expect(await db.tenant({ orgId: a }, (em) => isMemberByEmail(em, a, 'nobody@deliveries.test'))).toBe(false);
    // Org A's scope cannot see org B's memberships, even when asked for them.
    expect(await db.tenant({ orgId: a }, (em) => isMemberByEmail(em, b, 'owner@deliveries.test'))).toBe(false);
  });

  it('pages through the orgs the expiry sweep visits, skipping orgs being deleted', async () => {
    const all = await db.platform({}, async (em) => {
      const seen: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page: string[] = await listOrgIdsForInvitationSweep(em, after, 2);
        seen.push(...page);
        if (page.length < 2) return seen;
        after = page[page.length - 1]!;
      }
    });
    expect(all).toEqual([...all].sort());
    expect(all).toEqual(expect.arrayContaining(orgs));
    await db.platform({}, (em) => em.execute(`update organizations set status = 'deleting' where id = ?`, [orgs[2]]));
    const without = await db.platform({}, (em) => listOrgIdsForInvitationSweep(em, null, 100));
    expect(without).not.toContain(orgs[2]);
    await db.platform({}, (em) => em.execute(`update organizations set status = 'active' where id = ?`, [orgs[2]]));
  });
});
