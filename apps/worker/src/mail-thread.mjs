// The worker's mail thread: composes every message (MIME, encodings) and writes it to pooled
// SMTP connections, so that this work, most of a mail job's, runs beside the thread that takes
// jobs from Redis and records them in the database instead of on it. Plain JavaScript, so it
// loads in any runtime the worker runs in (tsx, Vitest's forks) without a TypeScript loader.
//
// Messages in: { type: 'send', id, smtpUrl, poolSize, message } and { type: 'close' }.
// Messages out: { id, ok: true } or { id, ok: false, error: { name, message, code, responseCode, response, command } }.
import { parentPort } from 'node:worker_threads';
import nodemailer from 'nodemailer';

if (!parentPort) throw new Error('mail-thread.mjs runs as a worker thread');
const port = parentPort;

/** One pooled transport per SMTP URL; its connections are reused for any number of messages. */
const transports = new Map();

function transportFor(smtpUrl, poolSize) {
  let transport = transports.get(smtpUrl);
  if (!transport) {
    transport = nodemailer.createTransport({
      url: smtpUrl,
      pool: true,
      maxConnections: poolSize,
      maxMessages: Number.POSITIVE_INFINITY,
    });
    transports.set(smtpUrl, transport);
  }
  return transport;
}

/** What the main thread needs of an SMTP error to report it and to retry. */
function describeError(error) {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { code, responseCode, response, command } = /** @type {Record<string, unknown>} */ (error);
  return { name: error.name, message: error.message, code, responseCode, response, command };
}

port.on('message', async (msg) => {
  if (msg?.type === 'close') {
    for (const transport of transports.values()) transport.close();
    transports.clear();
    port.close();
    return;
  }
  if (msg?.type !== 'send') return;
  try {
    await transportFor(msg.smtpUrl, msg.poolSize).sendMail(msg.message);
    port.postMessage({ id: msg.id, ok: true });
  } catch (error) {
    port.postMessage({ id: msg.id, ok: false, error: describeError(error) });
  }
});
