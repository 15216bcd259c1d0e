/**
 * A local SMTP sink for benchmarks, run as its own process (`fork` with tsx): accepts every
 * mail, counts it and its distinct Message-IDs without parsing bodies, and reports to the
 * parent over IPC: `{ type: 'ready', port }` once listening, then `{ type: 'count', … }` about
 * every 100 ms while mail arrives and whenever asked with `{ type: 'report' }`.
 * `{ type: 'reset' }` forgets everything counted so far.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** What the sink reports. */
export interface SinkCount {
  type: 'count';
  /** Mails accepted (250 after DATA). */
  mails: number;
  /** Distinct Message-IDs among them. */
  distinct: number;
  /** When the first and the last mail were accepted (ms since the epoch), or null. */
  firstAt: number | null;
  lastAt: number | null;
}

let mails = 0;
let firstAt: number | null = null;
let lastAt: number | null = null;
let ids = new Set<string>();
let dirty = false;

const report = () => {
  dirty = false;
  process.send?.({ type: 'count', mails, distinct: ids.size, firstAt, lastAt } satisfies SinkCount);
};

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  maxClients: 1000,
  closeTimeout: 1000,
  onData(stream, _session, callback) {
    let head = '';
    stream.on('data', (chunk: Buffer) => {
      if (head.length < 8192) head += chunk.toString('latin1');
    });
    stream.on('end', () => {
      const id = /^message-id:\s*(\S+)/im.exec(head)?.[1];
      mails += 1;
      if (id) ids.add(id);
      const now = Date.now();
      firstAt ??= now;
      lastAt = now;
      dirty = true;
      callback();
    });
  },
});
server.on('error', () => {});

setInterval(() => {
  if (dirty) report();
}, 100).unref();

process.on('message', (message: { type?: string }) => {
  if (message?.type === 'report') report();
  if (message?.type === 'reset') {
    mails = 0;
    firstAt = null;
    lastAt = null;
    ids = new Set();
    report();
  }
});
process.on('disconnect', () => server.close(() => process.exit(0)));

server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.server.address() as AddressInfo).port });
});
