import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../db.js';
import { createTestDatabase, type TestDatabase } from '../testing.js';
import {
  countMemberSeats,
  createInvitations,
  findMemberEmails,
  lockOrgInvitations,
  lockPendingInvitationsByEmail,
  prepareResends,
} from './invitation-batches.js';
import { findInvitation, revokeInvitation } from './invitations.js';
import { addMembership } from './memberships.js';
import { createOrg } from './orgs.js';
import { createUser } from './users.js';

vi.setConfig({ hookTimeout: 60_000, testTimeout: 30_000 });

const inDays = (n: number) => new Date(Date.now() + n * 86_400_000);

describe.each(['postgresql', 'pglite'] as const)('invitations in batches on %s', (kind) => {
  let t: TestDatabase;
  let db: Db;
  let orgA: string;
  let orgB: string;
  let owner: string;

  const create = (orgId: string, emails: string[]) =>
    db.tenant({ orgId }, (em) =>
      createInvitations(
        em,
        orgId,
        emails.map((email) => ({ email, role: 'viewer' as const, expiresAt: inDays(7), invitedById: owner })),
      ),
    );

  beforeAll(async () => {
    t = await createTestDatabase({ kind });
    db = t.db;
    const { member, shadow } = await db.platform({}, async (em) => {
      owner = (await createUser(em, { email: 'owner@batch.test', name: 'Owner', passwordHash: 'x' })).id;
      orgA = (await createOrg(em, { slug: 'batch-a', name: 'A', ownerId: owner })).id;
      orgB = (await createOrg(em, { slug: 'batch-b', name: 'B', ownerId: owner })).id;
      return {
        member: await createUser(em, { email: 'member@batch.test', name: 'Member', passwordHash: 'x' }),
        shadow: await createUser(em, { email: 'shadow@batch.test', name: 'Shadow', passwordHash: 'x' }),
      };
    });
    await db.tenant({ orgId: orgA }, async (em) => {
      await addMembership(em, { orgId: orgA, userId: member.id, role: 'viewer' });
      await addMembership(em, { orgId: orgA, userId: shadow.id, role: 'admin', isShadow: true });
    });
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('inserts a batch in one statement, normalized, and reports emails whose pending slot is taken', async () => {
    const first = await create(orgA, ['held@batch.test']);
    expect(first.created).toHaveLength(1);
    const batch = await create(orgA, ['One@Batch.test', 'held@batch.test', ' two@batch.test']);
    expect(batch.created.map((i) => i.email)).toEqual(['one@batch.test', 'two@batch.test']);
    expect(
      batch.created.every((i) => i.status === 'pending' && i.sendCount === 1 && i.deliveryState === 'queued'),
    ).toBe(true);
    expect(batch.conflicts).toEqual(['held@batch.test']);
    // The same emails in another org are another org's business.
    expect((await create(orgB, ['one@batch.test', 'held@batch.test'])).conflicts).toEqual([]);
  });

  it('finds the members among emails, shadow members included, in the org only', async () => {
    const emails = ['MEMBER@batch.test', 'shadow@batch.test', 'owner@batch.test', 'nobody@batch.test'];
    expect(await db.tenant({ orgId: orgA }, (em) => findMemberEmails(em, orgA, emails))).toEqual(
      new Set(['member@batch.test', 'shadow@batch.test', 'owner@batch.test']),
    );
    expect(await db.tenant({ orgId: orgB }, (em) => findMemberEmails(em, orgB, emails))).toEqual(
      new Set(['owner@batch.test']),
    );
  });

  it('counts members without shadow ones, and unexpired pending invitations', async () => {
    const seats = await db.tenant({ orgId: orgA }, (em) => countMemberSeats(em, orgA));
    expect(seats).toEqual({ members: 2, pending: 3 });
  });

  it('reads the pending invitations of some emails, and resends them in one statement', async () => {
    const { created } = await create(orgA, ['r1@batch.test', 'r2@batch.test', 'r3@batch.test']);
    await db.tenant({ orgId: orgA }, (em) => revokeInvitation(em, orgA, created[2]!.id));
    const pending = await db.tenant({ orgId: orgA }, (em) =>
      lockPendingInvitationsByEmail(em, orgA, ['R1@batch.test', 'r2@batch.test', 'r3@batch.test', 'x@batch.test']),
    );
    expect([...pending.keys()].sort()).toEqual(['r1@batch.test', 'r2@batch.test']);
    const expiresAt = inDays(3);
    const resent = await db.tenant({ orgId: orgA }, (em) =>
      prepareResends(
        em,
        orgA,
        [...pending.values(), created[2]!].map((i) => ({ id: i.id, tokenHash: `hash-${i.email}` })),
        expiresAt,
      ),
    );
    // The revoked one is not brought back.
    expect(resent.map((i) => i.email).sort()).toEqual(['r1@batch.test', 'r2@batch.test']);
    for (const i of resent) {
      expect(i).toMatchObject({ sendCount: 2, tokenHash: `hash-${i.email}`, deliveryState: 'queued' });
      expect(i.expiresAt.getTime()).toBe(expiresAt.getTime());
    }
    // From org B's scope nothing of org A moves.
    expect(
      await db.tenant({ orgId: orgB }, (em) => prepareResends(em, orgA, [{ id: created[0]!.id }], inDays(1))),
    ).toEqual([]);
    expect(
      await db.tenant({ orgId: orgB }, (em) => lockPendingInvitationsByEmail(em, orgA, ['r1@batch.test'])),
    ).toEqual(new Map());
    expect((await db.tenant({ orgId: orgA }, (em) => findInvitation(em, orgA, created[0]!.id)))?.sendCount).toBe(2);
  });

  it("refuses to write a batch into another org's scope", async () => {
    await expect(
      db.tenant({ orgId: orgB }, (em) =>
        createInvitations(em, orgA, [
          { id: randomUUID(), email: 'wall@batch.test', role: 'owner', expiresAt: inDays(1) },
        ]),
      ),
    ).rejects.toThrow(/row-level security/);
  });

  it.runIf(kind === 'postgresql')('holds the pending rows it read until the transaction ends', async () => {
    const { created } = await create(orgA, ['locked@batch.test']);
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const reader = db.tenant({ orgId: orgA }, async (em) => {
      await lockPendingInvitationsByEmail(em, orgA, ['locked@batch.test']);
      await held;
      order.push('reader committed');
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const revoker = db.tenant({ orgId: orgA }, async (em) => {
      await revokeInvitation(em, orgA, created[0]!.id);
      order.push('revoked');
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(order).toEqual([]);
    release();
    await Promise.all([reader, revoker]);
    expect(order).toEqual(['reader committed', 'revoked']);
  });

  it.runIf(kind === 'postgresql')("serialises the org's invitation writes, not another org's", async () => {
    const order: string[] = [];
    const holder = (orgId: string, name: string, ms: number) =>
      db.tenant({ orgId }, async (em) => {
        await lockOrgInvitations(em, orgId);
        order.push(`${name} in`);
        await new Promise((resolve) => setTimeout(resolve, ms));
        order.push(`${name} out`);
      });
    const first = holder(orgA, 'a1', 300);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await Promise.all([first, holder(orgA, 'a2', 0), holder(orgB, 'b', 0)]);
    expect(order.indexOf('a2 in')).toBeGreaterThan(order.indexOf('a1 out'));
    expect(order.indexOf('b in')).toBeLessThan(order.indexOf('a1 out'));
  });
});
