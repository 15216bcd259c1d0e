import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningProxy, startRoundRobinProxy } from '../../scripts/lib/round-robin-proxy.js';

// The proxy of `pnpm scale-out`, between real HTTP servers.

const backends: Server[] = [];
let proxy: RunningProxy;
let releaseStream: () => void = () => {};

function backend(name: string): Promise<string> {
  const server = createServer((req, res) => {
    if (req.url === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(`data: first from ${name}\n\n`);
      releaseStream = () => res.end(`data: last from ${name}\n\n`);
      return;
    }
    let body = '';
    req.setEncoding('utf8').on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      res.writeHead(201, { 'content-type': 'application/json', 'x-backend': name });
      res.end(
        JSON.stringify({
          name,
          method: req.method,
          url: req.url,
          host: req.headers.host,
          body,
          xff: req.headers['x-forwarded-for'],
        }),
      );
    });
  });
  backends.push(server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

beforeAll(async () => {
  const targets = [await backend('a'), await backend('b')];
  proxy = await startRoundRobinProxy({ targets, host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await proxy?.close();
  await Promise.all(backends.map((b) => new Promise((resolve) => b.close(resolve))));
});

describe('the round-robin proxy', () => {
  it('sends each request to the next process in turn, with method, path, body and Host unchanged', async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${proxy.url}/api/things?n=${i}`, { method: 'POST', body: `payload ${i}` });
      expect(res.status).toBe(201);
      answers.push((await res.json()) as Record<string, string>);
    }
    expect(answers.map((a) => a.name)).toEqual(['a', 'b', 'a', 'b']);
    expect(answers[2]).toMatchObject({
      method: 'POST',
      url: '/api/things?n=2',
      body: 'payload 2',
      host: new URL(proxy.url).host,
      xff: '127.0.0.1',
    });
    expect(proxy.forwarded).toEqual([2, 2]);
  });

  it('streams Server-Sent Events as they are written, before the stream ends', async () => {
    const res = await fetch(`${proxy.url}/events`);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^data: first from [ab]/);
    releaseStream();
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toMatch(/data: last from [ab]/);
  });

  it('answers 502 with {code, message} when a process does not answer', async () => {
    const lonely = await startRoundRobinProxy({ targets: ['http://127.0.0.1:1'], host: '127.0.0.1', port: 0 });
    try {
      const res = await fetch(`${lonely.url}/api/health`);
      expect(res.status).toBe(502);
      expect(await res.json()).toEqual({ code: 'BAD_GATEWAY', message: expect.stringContaining('127.0.0.1:1') });
    } finally {
      await lonely.close();
    }
  });
});
