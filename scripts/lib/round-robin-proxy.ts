import { Agent, createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Where the proxy forwards: `http://host:port` of each API process. */
export interface ProxyOptions {
  targets: string[];
  host: string;
  port: number;
  /** Called with each forwarded request (target index), e.g. for a log line. */
  onForward?: (target: number, req: IncomingMessage) => void;
}

export interface RunningProxy {
  url: string;
  /** Requests forwarded to each target so far. */
  readonly forwarded: number[];
  close(): Promise<void>;
}

// Connection-level headers are the proxy's own (RFC 9110 §7.6.1); everything else passes.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function forwardHeaders(req: IncomingMessage): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
  }
  const remote = req.socket.remoteAddress ?? '';
  const prior = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = prior ? `${prior}, ${remote}` : remote;
  headers['x-forwarded-proto'] = 'http';
  return headers;
}

function badGateway(res: ServerResponse, target: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(502, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({ code: 'BAD_GATEWAY', message: `The API process at ${target} did not answer: is it running?` }),
  );
}

/**
 * A small round-robin HTTP reverse proxy: each request goes to the next target in turn, with
 * its Host header unchanged (the API checks the origin of cookie-authenticated changes against
 * it). Bodies stream both ways without buffering, so Server-Sent Events pass through live.
 */
export async function startRoundRobinProxy(opts: ProxyOptions): Promise<RunningProxy> {
  if (opts.targets.length === 0) throw new Error('the proxy needs at least one target');
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const forwarded = opts.targets.map(() => 0);
  let next = 0;

  const server: Server = createServer((req, res) => {
    const index = next;
    next = (next + 1) % opts.targets.length;
    const target = new URL(opts.targets[index]!);
    forwarded[index] = (forwarded[index] ?? 0) + 1;
    opts.onForward?.(index, req);
    const upstream = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: forwardHeaders(req),
      },
      (answer) => {
        const headers: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(answer.headers)) {
          if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
        }
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, headers);
        // Event streams: send each event as it arrives.
        if (String(answer.headers['content-type'] ?? '').startsWith('text/event-stream')) res.flushHeaders();
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    upstream.setTimeout(0);
    upstream.on('error', () => badGateway(res, opts.targets[index]!));
    // A client that goes away (a closed event stream) closes its upstream request too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  server.requestTimeout = 0;
  server.timeout = 0;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host;
  return {
    url: `http://${host}:${address.port}`,
    forwarded,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
