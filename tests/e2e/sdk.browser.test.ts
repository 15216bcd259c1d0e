import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createApp, loadApiEnv } from '@tenantry/api';
import { createTestDatabase, type TestDatabase } from '@tenantry/db/testing';
import { initTRPC } from '@trpc/server';
import { fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium.js';

/**
 * The SDK in Chromium: bundled for browsers, loaded by a page of the Tenantry origin that acts
 * with its session cookie, and following a Server-Sent Events subscription of another origin
 * with a bearer token.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');

/** What the page's module script puts on `window.sdk` (the bundle of `@tenantry/sdk`). */
type SdkModule = typeof import('@tenantry/sdk');
const PASSWORD = 'correct horse battery';

let tdb: TestDatabase;
let app: ReturnType<typeof createApp>;
let streams: FastifyInstance;
let browser: Browser;
let page: Page;
let webDir: string;
let base = '';
let streamUrl = '';

/** Bundles `packages/sdk` as one ES module for browsers (with Vite, as the web app is built). */
async function bundleSdk(outDir: string): Promise<void> {
  const requireFromWeb = createRequire(path.join(ROOT, 'apps/web/package.json'));
  const vite = (await import(pathToFileURL(requireFromWeb.resolve('vite')).href)) as {
    build(config: Record<string, unknown>): Promise<unknown>;
  };
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await vite.build({
      configFile: false,
      logLevel: 'warn',
      root: ROOT,
      build: {
        outDir,
        emptyOutDir: false,
        target: 'es2022',
        lib: { entry: path.join(ROOT, 'packages/sdk/src/index.ts'), formats: ['es'], fileName: () => 'sdk.js' },
      },
    });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
}

const t = initTRPC.context<{ authorization: string | null; org: string | null }>().create();
const streamRouter = t.router({
  follow: t.procedure.subscription(async function* ({ ctx }) {
    for (let n = 1; n <= 3; n++) yield { n, authorization: ctx.authorization, org: ctx.org };
  }),
});

beforeAll(async () => {
  webDir = mkdtempSync(path.join(tmpdir(), 'tenantry-sdk-web-'));
  writeFileSync(
    path.join(webDir, 'index.html'),
    '<!doctype html><title>SDK page</title><script type="module">import * as sdk from "/sdk.js"; window.sdk = sdk;</script>',
  );
  const [db] = await Promise.all([createTestDatabase({ kind: 'postgresql', poolMax: 4 }), bundleSdk(webDir)]);
  tdb = db;
  app = createApp({
    env: loadApiEnv({ LOG_LEVEL: 'error', WEB_DIST: webDir, PUBLIC_URL: 'http://127.0.0.1:0' }),
    db: tdb.db,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  // Another origin, which lets the page's origin in (CORS), as a separate Tenantry host would.
  streams = Fastify();
  streams.addHook('onRequest', async (req, reply) => {
    reply.header('access-control-allow-origin', base);
    reply.header('access-control-allow-headers', 'authorization, x-org-id, cache-control, last-event-id');
    if (req.method === 'OPTIONS') return reply.code(204).send();
  });
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
  streamUrl = `http://127.0.0.1:${(streams.server.address() as AddressInfo).port}`;

  browser = await launchChromium();
  page = await (await browser.newContext()).newPage();
  page.on('pageerror', (error) => console.error(`[browser] uncaught: ${error.message}`));
  await page.goto(`${base}/`);
  await page.waitForFunction(() => 'sdk' in globalThis);
});

afterAll(async () => {
  await browser?.close();
  await streams?.close();
  await app?.close();
  await tdb?.drop();
  if (webDir) rmSync(webDir, { recursive: true, force: true });
});

describe('the SDK in a browser', () => {
  it('bundles without any server code', () => {
    const bundle = readFileSync(path.join(webDir, 'sdk.js'), 'utf8');
    for (const server of ['MikroORM', 'argon2', 'bullmq', 'LicenseService', 'createOpenApiDocument', 'Fastify(']) {
      expect(bundle).not.toContain(server);
    }
    expect(bundle.length).toBeLessThan(150_000);
  });

  it('acts with the session cookie on its own origin and rejects with TenantryError codes', async () => {
    const result = await page.evaluate(
      async ({ password }) => {
        const signup = await fetch('/api/auth/signup', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'browser@example.com', password, name: 'Browser' }),
        });
        const sdk = (globalThis as unknown as { sdk: SdkModule }).sdk;
        const client = sdk.createClient({
          url: (globalThis as unknown as { location: { origin: string } }).location.origin,
        });
        const current = await client.org.current.query();
        let refusal: Record<string, unknown> = {};
        try {
          await client.withOrg('not-mine').org.current.query();
        } catch (error) {
          const e = error as { name: string; code: string; status: number };
          refusal = { name: e.name, code: e.code, status: e.status, typed: error instanceof sdk.TenantryError };
        }
        return { signup: signup.status, slug: current.slug, role: current.role, refusal };
      },
      { password: PASSWORD },
    );
    expect(result).toEqual({
      signup: 201,
      slug: 'default',
      role: 'owner',
      // The flag is off on this server: another org answers 501.
      refusal: { name: 'TenantryError', code: 'MULTI_TENANT_DISABLED', status: 501, typed: true },
    });
  });

  it('follows a subscription over Server-Sent Events with a bearer token and organization', async () => {
    const events = await page.evaluate(async (url) => {
      const sdk = (globalThis as unknown as { sdk: SdkModule }).sdk;
      const client = sdk.createClient<typeof streamRouter>({ url, token: 'tnt_browser', org: 'acme' });
      return new Promise<unknown[]>((resolve, reject) => {
        const seen: unknown[] = [];
        const sub = client.follow.subscribe(undefined, {
          onData: (event: unknown) => {
            seen.push(event);
            if (seen.length === 3) {
              sub.unsubscribe();
              resolve(seen);
            }
          },
          onError: (error: Error) => reject(new Error(error.message)),
        });
        setTimeout(() => reject(new Error(`only ${seen.length} events`)), 10_000);
      });
    }, streamUrl);
    expect(events).toEqual([1, 2, 3].map((n) => ({ n, authorization: 'Bearer tnt_browser', org: 'acme' })));
  });
});
