import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import type { Child } from './processes.js';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** What a JSON request answered. */
export interface Reply {
  status: number;
  body: Record<string, unknown> | undefined;
  cookie: string | undefined;
}

/** A keep-alive HTTP client for one local server, `concurrency` sockets at most. */
export function httpClient(port: number, concurrency: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const call = (method: string, path: string, body?: unknown, cookie?: string): Promise<Reply> => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          agent,
          headers: {
            ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
            ...(cookie ? { cookie } : {}),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => {
            const set = res.headers['set-cookie']?.find((c) => c.startsWith('tenantry_session='));
            resolve({
              status: res.statusCode ?? 0,
              body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
              cookie: set?.split(';')[0],
            });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  };
  return {
    call,
    /** Resolves once `GET /api/health` answers 200; fails with the server's output after a minute. */
    async waitForHealth(server: Child): Promise<void> {
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          if ((await call('GET', '/api/health')).status === 200) return;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`the API did not become healthy:\n${server.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    close: () => agent.destroy(),
  };
}

export type HttpClient = ReturnType<typeof httpClient>;
