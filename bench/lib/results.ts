import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

/** One measured figure, printed next to its target. */
export interface Figure {
  label: string;
  value: number;
  unit: string;
  /** What the figure must reach, in words (`>= 650 mails/s`, `<= 1.5x`). */
  target?: string;
  /** Whether the target was met (absent: no target). */
  ok?: boolean;
}

/** The result of one benchmark, as `bench/results/<name>.json` holds it. */
export interface BenchResult {
  name: string;
  description: string;
  figures: Figure[];
  /** Anything else worth keeping (parameters, raw samples). */
  details?: Record<string, unknown>;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  at: string;
}

export const RESULTS_DIR = join(import.meta.dirname, '..', 'results');

export function machine(): BenchResult['machine'] {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** Prints every figure next to its target and writes `bench/results/<name>.json`. */
export function writeResult(result: Omit<BenchResult, 'machine' | 'at'>): BenchResult {
  const full: BenchResult = { ...result, machine: machine(), at: new Date().toISOString() };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `${result.name}.json`), `${JSON.stringify(full, null, 2)}\n`);
  process.stdout.write(`\n${result.name}: ${result.description}\n`);
  for (const f of result.figures) {
    const mark = f.ok === undefined ? ' ' : f.ok ? '✓' : '✗';
    const target = f.target ? `   target ${f.target}` : '';
    process.stdout.write(`  ${mark} ${f.label}: ${formatValue(f.value)} ${f.unit}${target}\n`);
  }
  return full;
}

function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}
