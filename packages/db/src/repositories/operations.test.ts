import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../testing.js';
import { countOrgsByStatus } from './operations.js';
import { createOrg, updateOrg } from './orgs.js';

describe('countOrgsByStatus', () => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await createTestDatabase({ kind: 'postgresql', poolMax: 2 });
  });

  afterAll(async () => {
    await t?.drop();
  });

  it('counts the default org alone on a fresh install, every status present', async () => {
    expect(await t.db.platform({}, countOrgsByStatus)).toEqual({
      active: 1,
      suspended: 0,
      pending_deletion: 0,
      deleting: 0,
    });
  });

  it('counts each organization under its status', async () => {
    await t.db.platform({}, async (em) => {
      await createOrg(em, { slug: 'ops-a', name: 'A' });
      const b = await createOrg(em, { slug: 'ops-b', name: 'B' });
      const c = await createOrg(em, { slug: 'ops-c', name: 'C' });
      await updateOrg(em, b.id, { status: 'suspended', suspendedAt: new Date() });
      await updateOrg(em, c.id, { status: 'pending_deletion' });
    });
    expect(await t.db.platform({}, countOrgsByStatus)).toEqual({
      active: 2,
      suspended: 1,
      pending_deletion: 1,
      deleting: 0,
    });
  });
});
