import type { ChildProcess } from 'node:child_process';
import { forkTs } from './processes.js';
import type { SinkCount } from './smtp-sink.js';

/** The SMTP sink process of a benchmark, as its parent sees it. */
export interface Sink {
  port: number;
  latest: SinkCount;
  /** Forgets everything counted so far. */
  reset(): Promise<void>;
  /** Resolves once `predicate` holds for a report, calling `onCount` with every report. */
  until(predicate: (c: SinkCount) => boolean, onCount: (c: SinkCount) => void, timeoutMs: number): Promise<SinkCount>;
  close(): void;
}

/** Forks `bench/lib/smtp-sink.ts` and resolves once it listens. */
export async function startSink(): Promise<Sink> {
  const child: ChildProcess = forkTs('bench/lib/smtp-sink.ts');
  const listeners = new Set<(c: SinkCount) => void>();
  const sink: Sink = {
    port: 0,
    latest: { type: 'count', mails: 0, distinct: 0, firstAt: null, lastAt: null },
    async reset() {
      await new Promise<void>((resolve) => {
        const done = (c: SinkCount) => {
          if (c.mails === 0) {
            listeners.delete(done);
            resolve();
          }
        };
        listeners.add(done);
        child.send({ type: 'reset' });
      });
    },
    until(predicate, onCount, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(
            new Error(`the sink saw ${sink.latest.mails} mails (${sink.latest.distinct} distinct) before timing out`),
          );
        }, timeoutMs);
        const listener = (c: SinkCount) => {
          onCount(c);
          if (!predicate(c)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(c);
        };
        listeners.add(listener);
        child.send({ type: 'report' });
      });
    },
    close: () => child.disconnect(),
  };
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the SMTP sink exited (${code})`)));
    child.on('message', (message: SinkCount | { type: 'ready'; port: number }) => {
      if (message.type === 'ready') {
        sink.port = message.port;
        resolve();
      } else {
        sink.latest = message;
        for (const listener of [...listeners]) listener(message);
      }
    });
  });
  return sink;
}
