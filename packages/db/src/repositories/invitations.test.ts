import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db, EntityManager } from '../db.js';
import { Invitation } from '../entities.js';
import { isUniqueViolation, UNIQUE_CONSTRAINTS } from '../errors.js';
import { createTestDatabase, type TestDatabase } from '../testing.js';
import {
  acceptInvitation,
  countPendingInvitations,
  createInvitation,
  expireInvitations,
  findInvitation,
  findPendingInvitationByEmail,
  InvitationPendingError,
  incrementDeliveryAttempts,
  listInvitations,
  markInvitationDeliveryFailed,
  markInvitationSent,
  prepareResend,
  recordInvitationToken,
  revokeInvitation,
} from './invitations.js';
import { createOrg } from './orgs.js';
import { createUser } from './users.js';

// Opening PGlite takes seconds; these hold whatever the root config says.
vi.setConfig({ hookTimeout: 60_000, testTimeout: 30_000 });

const DAY = 86_400_000;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const inDays = (n: number) => new Date(Date.now() + n * DAY);

type Row = Record<string, unknown>;

describe.each(['postgresql', 'pglite'] as const)('invitations on %s', (kind) => {
  let t: TestDatabase;
  let db: Db;
  let orgA: string;
  let orgB: string;
  let inviter: string;
  let joiner: string;

  const invite = (orgId: string, email: string, expiresAt = inDays(7)) =>
    db.tenant({ orgId }, (em) =>
      createInvitation(em, { orgId, email, role: 'editor', expiresAt, invitedById: inviter }),
    );
  const read = (orgId: string, id: string) => db.tenant({ orgId }, (em) => findInvitation(em, orgId, id));

  beforeAll(async () => {
    t = await createTestDatabase({ kind });
    db = t.db;
    await db.platform({}, async (em) => {
      inviter = (await createUser(em, { email: 'ines@inv.test', name: 'Ines', passwordHash: 'x' })).id;
      joiner = (await createUser(em, { email: 'jo@inv.test', name: 'Jo', passwordHash: 'x' })).id;
      orgA = (await createOrg(em, { slug: 'inv-a', name: 'A', ownerId: inviter })).id;
      orgB = (await createOrg(em, { slug: 'inv-b', name: 'B', ownerId: inviter })).id;
    });
  });
  afterAll(async () => {
    await t?.drop();
  });

  describe('when an invitation is created', () => {
    it('stores it pending, queued, without a token, with the email normalised', async () => {
      const inv = await invite(orgA, '  New.Person@Example.TEST ');
      expect(inv).toMatchObject({
        orgId: orgA,
        email: 'new.person@example.test',
        role: 'editor',
        status: 'pending',
        tokenHash: null,
        sendCount: 1,
        deliveryState: 'queued',
        deliveryAttempts: 0,
        lastDeliveryError: null,
        sentAt: null,
        invitedById: inviter,
        acceptedById: null,
        acceptedAt: null,
        revokedAt: null,
      });
      expect(inv.expiresAt).toBeInstanceOf(Date);
      expect(inv.createdAt).toBeInstanceOf(Date);
      expect(await read(orgA, inv.id)).toEqual(inv);
    });

    it('keeps one pending invitation per email and org, and says which one holds the slot', async () => {
      const first = await invite(orgA, 'dup@example.test');
      const { err, after } = await db.tenant({ orgId: orgA }, async (em) => {
        const caught = await createInvitation(em, {
          orgId: orgA,
          email: 'DUP@example.test',
          role: 'viewer',
          expiresAt: inDays(7),
        }).catch((e: unknown) => e);
        // The conflict does not abort the unit of work: the caller can resend in it.
        return { err: caught, after: await prepareResend(em, orgA, first.id, inDays(7)) };
      });
      expect(err).toBeInstanceOf(InvitationPendingError);
      expect((err as InvitationPendingError).existing).toMatchObject({ id: first.id, status: 'pending' });
      expect(isUniqueViolation(err, UNIQUE_CONSTRAINTS.pendingInvitation)).toBe(true);
      expect(after).toBe(2);

      // Another org may invite the same email; the partial index still binds raw inserts.
      await expect(invite(orgB, 'dup@example.test')).resolves.toMatchObject({ orgId: orgB });
      const raw = await db
        .tenant({ orgId: orgA }, (em) =>
          em.execute(
            `insert into invitations (org_id, id, email, role, expires_at) values (?, gen_random_uuid(), ?, 'viewer', now())`,
            [orgA, 'dup@example.test'],
          ),
        )
        .catch((e: unknown) => e);
      expect(isUniqueViolation(raw, UNIQUE_CONSTRAINTS.pendingInvitation)).toBe(true);

      // Once revoked, the email can be invited again.
      await db.tenant({ orgId: orgA }, (em) => revokeInvitation(em, orgA, first.id));
      await expect(invite(orgA, 'dup@example.test')).resolves.toMatchObject({ status: 'pending' });
    });

    it('creates one of five concurrent invitations of one email and points the others to it', async () => {
      const results = await Promise.all(
        Array.from({ length: 5 }, () => invite(orgA, 'burst@example.test').catch((e: unknown) => e)),
      );
      const created = results.filter((r) => !(r instanceof Error));
      expect(created).toHaveLength(1);
      const createdId = (created[0] as { id: string }).id;
      for (const r of results.filter((x) => x instanceof Error)) {
        expect(r).toBeInstanceOf(InvitationPendingError);
        expect((r as InvitationPendingError).existing.id).toBe(createdId);
      }
    });

    it('refuses an email that is not lowercase at the database', async () => {
      await expect(
        db.tenant({ orgId: orgA }, (em) =>
          em.execute(
            `insert into invitations (org_id, id, email, role, expires_at) values (?, gen_random_uuid(), 'Up@x.test', 'viewer', now())`,
            [orgA],
          ),
        ),
      ).rejects.toThrow(/check constraint/);
    });
  });

  describe('when accepting', () => {
    it('lets exactly one of ten concurrent attempts win', async () => {
      const inv = await invite(orgA, 'race@example.test');
      expect(await db.tenant({ orgId: orgA }, (em) => recordInvitationToken(em, orgA, inv.id, sha256('s1'), 1))).toBe(
        true,
      );
      // On PostgreSQL, hold all ten transactions open on their own connections first, so the
      // updates truly overlap. PGlite has one connection: units run one by one.
      let arrived = 0;
      let release!: () => void;
      const allArrived = new Promise<void>((resolve) => {
        release = resolve;
      });
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          db.tenant({ orgId: orgA, userId: joiner }, async (em) => {
            if (kind === 'postgresql') {
              await em.execute('select 1');
              if (++arrived === 10) release();
              await allArrived;
            }
            return acceptInvitation(em, orgA, inv.id, joiner, sha256('s1'));
          }),
        ),
      );
      const winners = results.filter((r) => r !== null);
      expect(winners).toHaveLength(1);
      expect(winners[0]).toMatchObject({ status: 'accepted', acceptedById: joiner });
      expect(winners[0]?.acceptedAt).toBeInstanceOf(Date);
      expect(await read(orgA, inv.id)).toMatchObject({ status: 'accepted' });
      expect(await db.tenant({ orgId: orgA }, (em) => revokeInvitation(em, orgA, inv.id))).toBeNull();
      expect(await db.tenant({ orgId: orgA }, (em) => prepareResend(em, orgA, inv.id, inDays(7)))).toBeNull();
    });

    it('needs the current token hash', async () => {
      const inv = await invite(orgA, 'token@example.test');
      const accept = (hash: string) =>
        db.tenant({ orgId: orgA }, (em) => acceptInvitation(em, orgA, inv.id, joiner, hash));
      expect(await accept(sha256('anything'))).toBeNull();
      await db.tenant({ orgId: orgA }, (em) => recordInvitationToken(em, orgA, inv.id, sha256('right'), 1));
      expect(await accept(sha256('wrong'))).toBeNull();
      expect(await accept(sha256('right'))).toMatchObject({ status: 'accepted' });
    });
  });

  describe('when a resend has moved on', () => {
    it('lets no job of the earlier send touch the token or the delivery state', async () => {
      const inv = await invite(orgA, 'resend@example.test');
      const tx = <T>(fn: (em: EntityManager) => Promise<T>) => db.tenant({ orgId: orgA }, fn);
      expect(await tx((em) => recordInvitationToken(em, orgA, inv.id, sha256('first'), 1))).toBe(true);
      expect(await tx((em) => prepareResend(em, orgA, inv.id, inDays(8)))).toBe(2);
      const resent = await read(orgA, inv.id);
      // The old token died with the resend.
      expect(resent).toMatchObject({ sendCount: 2, tokenHash: null, status: 'pending', deliveryState: 'queued' });
      expect(resent!.expiresAt.getTime()).toBeGreaterThan(inv.expiresAt.getTime());
      expect(await tx((em) => acceptInvitation(em, orgA, inv.id, joiner, sha256('first')))).toBeNull();

      // A retried job of send 1 arrives late.
      expect(await tx((em) => recordInvitationToken(em, orgA, inv.id, sha256('stale'), 1))).toBe(false);
      expect(await tx((em) => markInvitationSent(em, orgA, inv.id, 1))).toBe(false);
      expect(await tx((em) => incrementDeliveryAttempts(em, orgA, inv.id, 1))).toBeNull();
      expect(await tx((em) => markInvitationDeliveryFailed(em, orgA, inv.id, 1, 'old'))).toBe(false);
      expect(await read(orgA, inv.id)).toMatchObject({ tokenHash: null, deliveryState: 'queued', deliveryAttempts: 0 });

      // The job of send 2 runs: two failed attempts, then delivery.
      expect(await tx((em) => recordInvitationToken(em, orgA, inv.id, sha256('second'), 2))).toBe(true);
      expect(await tx((em) => incrementDeliveryAttempts(em, orgA, inv.id, 2))).toBe(1);
      expect(await tx((em) => incrementDeliveryAttempts(em, orgA, inv.id, 2, '421 try later'))).toBe(2);
      expect(await tx((em) => markInvitationDeliveryFailed(em, orgA, inv.id, 2, '550 no such user'))).toBe(true);
      expect(await read(orgA, inv.id)).toMatchObject({
        deliveryState: 'failed',
        deliveryAttempts: 2,
        lastDeliveryError: '550 no such user',
      });
      expect(await tx((em) => markInvitationSent(em, orgA, inv.id, 2))).toBe(true);
      const sent = await read(orgA, inv.id);
      expect(sent).toMatchObject({ deliveryState: 'sent', lastDeliveryError: null, tokenHash: sha256('second') });
      expect(sent?.sentAt).toBeInstanceOf(Date);
      expect(await tx((em) => acceptInvitation(em, orgA, inv.id, joiner, sha256('second')))).toMatchObject({
        status: 'accepted',
      });
    });
  });

  describe('when the invitation has expired', () => {
    it('reads as expired, counts as nothing and cannot be accepted, before the sweep runs', async () => {
      const pendingBefore = await db.tenant({ orgId: orgA }, (em) => countPendingInvitations(em, orgA));
      const inv = await invite(orgA, 'late@example.test', new Date(Date.now() - 1000));
      await db.tenant({ orgId: orgA }, (em) => recordInvitationToken(em, orgA, inv.id, sha256('late'), 1));
      expect(inv.status).toBe('expired');
      expect(await read(orgA, inv.id)).toMatchObject({ status: 'expired' });
      expect(await db.tenant({ orgId: orgA }, (em) => countPendingInvitations(em, orgA))).toBe(pendingBefore);
      const pendingList = await db.tenant({ orgId: orgA }, (em) => listInvitations(em, orgA, { status: 'pending' }));
      expect(pendingList.map((i) => i.id)).not.toContain(inv.id);
      expect(pendingList.every((i) => i.status === 'pending')).toBe(true);
      const expiredList = await db.tenant({ orgId: orgA }, (em) => listInvitations(em, orgA, { status: 'expired' }));
      expect(expiredList.map((i) => i.id)).toEqual([inv.id]);
      expect(
        await db.tenant({ orgId: orgA }, (em) => acceptInvitation(em, orgA, inv.id, joiner, sha256('late'))),
      ).toBeNull();

      // It still holds the email's pending slot until the sweep: re-inviting finds it.
      const slot = await db.tenant({ orgId: orgA }, (em) =>
        findPendingInvitationByEmail(em, orgA, 'LATE@example.test'),
      );
      expect(slot).toMatchObject({ id: inv.id, status: 'expired' });
      const again = await invite(orgA, 'late@example.test').catch((e: unknown) => e);
      expect((again as InvitationPendingError).existing).toMatchObject({ id: inv.id, status: 'expired' });

      // The sweep stores it, once, and frees the slot.
      expect(
        (await db.tenant({ orgId: orgA }, (em) => expireInvitations(em, orgA, new Date()))).map((i) => i.id),
      ).toEqual([inv.id]);
      expect(await db.tenant({ orgId: orgA }, (em) => expireInvitations(em, orgA, new Date()))).toEqual([]);
      expect(
        await db.tenant({ orgId: orgA }, (em) => findPendingInvitationByEmail(em, orgA, 'late@example.test')),
      ).toBe(null);
      await expect(invite(orgA, 'late@example.test')).resolves.toMatchObject({ status: 'pending' });
    });

    it('comes back to life when resent', async () => {
      const inv = await invite(orgA, 'revive@example.test', new Date(Date.now() - 1000));
      expect(await db.tenant({ orgId: orgA }, (em) => expireInvitations(em, orgA))).toEqual([
        expect.objectContaining({ id: inv.id, email: 'revive@example.test', sendCount: 1 }),
      ]);
      expect(await db.tenant({ orgId: orgA }, (em) => prepareResend(em, orgA, inv.id, inDays(7)))).toBe(2);
      expect(await read(orgA, inv.id)).toMatchObject({ status: 'pending', sendCount: 2, tokenHash: null });
    });
  });

  describe('lists and revocation', () => {
    it('lists newest first with the inviter, filters by read status, and revokes', async () => {
      const older = await invite(orgB, 'older@example.test');
      const newer = await invite(orgB, 'newer@example.test');
      const all = await db.tenant({ orgId: orgB }, (em) => listInvitations(em, orgB));
      expect(all.map((i) => i.email).slice(0, 2)).toEqual(['newer@example.test', 'older@example.test']);
      expect(all[0]).toMatchObject({ invitedByEmail: 'ines@inv.test', invitedByName: 'Ines' });
      expect(all.every((i) => i.orgId === orgB)).toBe(true);

      const revoked = await db.tenant({ orgId: orgB }, (em) => revokeInvitation(em, orgB, older.id));
      expect(revoked).toMatchObject({ status: 'revoked' });
      expect(revoked?.revokedAt).toBeInstanceOf(Date);
      expect(await db.tenant({ orgId: orgB }, (em) => revokeInvitation(em, orgB, older.id))).toBeNull();
      const onlyRevoked = await db.tenant({ orgId: orgB }, (em) => listInvitations(em, orgB, { status: 'revoked' }));
      expect(onlyRevoked.map((i) => i.id)).toEqual([older.id]);
      const pending = await db.tenant({ orgId: orgB }, (em) => listInvitations(em, orgB, { status: 'pending' }));
      expect(pending.map((i) => i.id)).toContain(newer.id);
      expect(pending.map((i) => i.id)).not.toContain(older.id);
    });
  });

  describe('row-level security', () => {
    it("lets org B's scope read, change and delete none of org A's invitations, even by raw SQL", async () => {
      const a = await invite(orgA, 'wall@example.test');
      const inB = <T>(fn: (em: EntityManager) => Promise<T>) => db.tenant({ orgId: orgB }, fn);
      expect(await inB((em) => findInvitation(em, orgA, a.id))).toBeNull();
      const viaOrm = await inB((em) => em.find(Invitation, {}));
      expect(viaOrm.length).toBeGreaterThan(0);
      expect(viaOrm.every((i) => i.orgId === orgB && i.expiresAt instanceof Date)).toBe(true);
      const seen = await inB((em) => em.execute<Row[]>('select org_id from invitations'));
      expect(seen.length).toBeGreaterThan(0);
      expect(new Set(seen.map((r) => r.org_id))).toEqual(new Set([orgB]));
      expect(await inB((em) => em.execute('select * from invitations where org_id = ?', [orgA]))).toEqual([]);
      expect(await inB((em) => em.execute('select count(*)::int as n from invitations where id = ?', [a.id]))).toEqual([
        { n: 0 },
      ]);
      expect(
        await inB((em) =>
          em.execute(`update invitations set status = 'revoked' where org_id = ? returning id`, [orgA]),
        ),
      ).toEqual([]);
      expect(await inB((em) => em.execute('delete from invitations where id = ? returning id', [a.id]))).toEqual([]);
      expect(await inB((em) => revokeInvitation(em, orgA, a.id))).toBeNull();
      expect(await inB((em) => prepareResend(em, orgA, a.id, inDays(1)))).toBeNull();
      await expect(
        inB((em) =>
          em.execute(
            `insert into invitations (org_id, id, email, role, expires_at) values (?, gen_random_uuid(), 'x@y.test', 'owner', now())`,
            [orgA],
          ),
        ),
      ).rejects.toThrow(/row-level security/);
      await expect(
        inB((em) => em.execute('update invitations set org_id = ? where org_id = ?', [orgA, orgB])),
      ).rejects.toThrow(/row-level security/);
      expect(await db.platform({}, (em) => em.execute('select * from invitations'))).toEqual([]);
      expect(await read(orgA, a.id)).toMatchObject({ status: 'pending', role: 'editor' });
    });
  });
});
