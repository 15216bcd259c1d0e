import type { AddressInfo } from 'node:net';
import { createClient, isTenantryError, TenantryError } from '@tenantry/sdk';
import { initTRPC, TRPCError } from '@trpc/server';
import { fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
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

// The typed SDK against a real server: the API's end-to-end behaviour, as an integration sees it.

let server: TestServer;
let owner: RestUser;
let acme: { id: string; slug: string };
let globex: { id: string; slug: string };
let token: string;

beforeAll(async () => {
  server = await startTestServer({ redis: true });
  owner = await signUpOver(server.url, 'SDK Owner');
  acme = await createOrgOver(server.url, owner, 'Acme SDK');
  globex = await createOrgOver(server.url, owner, 'Globex SDK');
  ({ token } = await createTokenOver(server.url, owner, { orgIds: [acme.id, globex.id] }));
});

afterAll(async () => {
  await server?.close();
});

async function rejection(promise: Promise<unknown>): Promise<TenantryError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TenantryError);
    return error as TenantryError;
  }
  throw new Error('expected the call to fail');
}

describe('the SDK with an API token', () => {
  it('lists the organizations the token reaches', async () => {
    const client = createClient({ url: server.url, token });
    const { orgs } = await client.orgs.list.query();
    expect(orgs.map((o) => o.slug).sort()).toEqual(expect.arrayContaining([acme.slug, globex.slug]));
  });

  it('switches the organization per client and per call with X-Org-Id', async () => {
    const client = createClient({ url: server.url, token, org: acme.slug });
    expect((await client.org.current.query()).id).toBe(acme.id);
    const other = client.withOrg(globex.id);
    expect(other.activeOrg).toBe(globex.id);
    expect((await other.org.current.query()).slug).toBe(globex.slug);
    expect((await client.org.current.query(undefined, { context: { org: globex.slug } })).id).toBe(globex.id);
    // The original client still acts in its own org.
    expect((await client.org.current.query()).id).toBe(acme.id);
  });

  it('changes data and reads it back through REST', async () => {
    const client = createClient({ url: server.url, token });
    const updated = await client.orgs.update.mutate({ orgId: acme.id, description: 'Written by the SDK' });
    expect(updated.description).toBe('Written by the SDK');
    const viaRest = await rest(server.url, 'GET', `/api/orgs/${acme.id}`, { token });
    expect(viaRest.body.description).toBe('Written by the SDK');
  });
});

describe('errors from the SDK', () => {
  it('carry the stable code and status of a refusal', async () => {
    const client = createClient({ url: server.url, token });
    const denied = await rejection(client.withOrg('not-one-of-mine').org.current.query());
    expect(denied).toMatchObject({ code: 'ORG_ACCESS_DENIED', status: 403 });
    expect(isTenantryError(denied, 'ORG_ACCESS_DENIED')).toBe(true);
    expect(denied.message).toMatch(/access/);

    const unauthenticated = await rejection(
      createClient({ url: server.url, token: 'tnt_not-a-real-token' }).orgs.list.query(),
    );
    expect(unauthenticated).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
  });

  it('list the fields of invalid input', async () => {
    const client = createClient({ url: server.url, token });
    const invalid = await rejection(
      client.members.add.mutate({ orgId: acme.id, email: 'not an email', role: 'emperor' as never }),
    );
    expect(invalid).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
    expect(invalid.issues.map((i) => i.path.join('.')).sort()).toEqual(['email', 'role']);
  });

  it('say NETWORK_ERROR when the server cannot be reached', async () => {
    const closed = Fastify();
    await closed.listen({ host: '127.0.0.1', port: 0 });
    const port = (closed.server.address() as AddressInfo).port;
    await closed.close();
    const failed = await rejection(createClient({ url: `http://127.0.0.1:${port}`, token }).orgs.list.query());
    expect(failed).toMatchObject({ code: 'NETWORK_ERROR', status: 0 });
  });

  it('answer 501 MULTI_TENANT_DISABLED from a server with the flag off', async () => {
    const off = await startTestServer({ multiTenant: false, tdb: server.tdb });
    try {
      const client = createClient({ url: off.url, token });
      expect(await rejection(client.orgs.list.query())).toMatchObject({ code: 'MULTI_TENANT_DISABLED', status: 501 });
      expect(await rejection(client.withOrg(acme.id).org.current.query())).toMatchObject({ status: 501 });
    } finally {
      await off.close();
    }
  });
});

// A tRPC server with one subscription that reports what each stream was opened with, so the
// SDK's Server-Sent Events transport is exercised for real (Node has no EventSource of its own).
const t = initTRPC.context<{ authorization: string | null; org: string | null }>().create({
  errorFormatter: ({ shape, error }) => ({
    ...shape,
    data: { ...shape.data, code: error.message === 'suspended' ? 'ORG_SUSPENDED' : 'INTERNAL', httpStatus: 403 },
  }),
});
const streamRouter = t.router({
  follow: t.procedure.subscription(async function* ({ ctx }) {
    if (ctx.org === 'suspended-org') throw new TRPCError({ code: 'FORBIDDEN', message: 'suspended' });
    for (let n = 1; n <= 3; n++) yield { n, authorization: ctx.authorization, org: ctx.org };
  }),
});

describe('subscriptions from the SDK in Node', () => {
  let streams: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    streams = Fastify();
    await streams.register(fastifyTRPCPlugin, {
      prefix: '/trpc',
      trpcOptions: {
        router: streamRouter,
        createContext: ({ req }: { req: { headers: Record<string, string | string[] | undefined> } }) => ({
          authorization: (req.headers.authorization as string | undefined) ?? null,
          org: (req.headers['x-org-id'] as string | undefined) ?? null,
        }),
      },
    });
    await streams.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(streams.server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await streams?.close();
  });

  it('stream over Server-Sent Events with the bearer token and the organization of the client', async () => {
    const client = createClient<typeof streamRouter>({ url, token: 'tnt_stream', org: 'acme' });
    const events = await new Promise<unknown[]>((resolve, reject) => {
      const seen: unknown[] = [];
      const sub = client.follow.subscribe(undefined, {
        onData: (event) => {
          seen.push(event);
          if (seen.length === 3) {
            sub.unsubscribe();
            resolve(seen);
          }
        },
        onError: reject,
      });
    });
    expect(events).toEqual([1, 2, 3].map((n) => ({ n, authorization: 'Bearer tnt_stream', org: 'acme' })));
  });

  it('end a refused stream with a TenantryError carrying the code', async () => {
    const client = createClient<typeof streamRouter>({ url, token: 'tnt_stream' }).withOrg('suspended-org');
    const error = await new Promise<unknown>((resolve) => {
      const sub = client.follow.subscribe(undefined, {
        onData: () => {},
        onError: (e) => {
          sub.unsubscribe();
          resolve(e);
        },
      });
    });
    expect(error).toBeInstanceOf(TenantryError);
    expect(error).toMatchObject({ code: 'ORG_SUSPENDED', status: 403 });
  });
});
