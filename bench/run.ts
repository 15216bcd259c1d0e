/**
 * `pnpm bench`: runs every `bench/*.bench.ts` in turn (each in its own process, writing
 * `bench/results/<name>.json`), then writes `bench/results/results.json` and
 * `bench/results/RESULTS.md` (every figure with its target) with the machine's description,
 * and prints the table. `--only <name>` runs one benchmark and updates its rows.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type BenchResult, machine, RESULTS_DIR } from './lib/results.js';

const BENCH_DIR = import.meta.dirname;
const ROOT = path.resolve(BENCH_DIR, '..');

/** One benchmark's entry in `results.json`. */
interface RunEntry {
  name: string;
  /** Whether its process ran to the end (exit code 0). */
  completed: boolean;
  exitCode: number | null;
  seconds: number;
  result: BenchResult | null;
}

interface Results {
  machine: ReturnType<typeof machine> & { loadAverage: { before: number[]; after: number[] } };
  at: string;
  benchmarks: RunEntry[];
}

function benchmarks(): string[] {
  return readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => f.slice(0, -'.bench.ts'.length))
    .sort();
}

function runOne(name: string): Promise<{ exitCode: number | null; seconds: number }> {
  const started = performance.now();
  process.stdout.write(`\n▶ ${name} (bench/${name}.bench.ts)\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('bench', `${name}.bench.ts`)], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  return new Promise((resolve) => {
    child.on('exit', (code) => resolve({ exitCode: code, seconds: (performance.now() - started) / 1000 }));
  });
}

function readResult(name: string, since: number): BenchResult | null {
  const file = path.join(RESULTS_DIR, `${name}.json`);
  if (!existsSync(file)) return null;
  const result = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
  // A result older than this run is a previous run's: the benchmark failed before writing.
  return Date.parse(result.at) >= since ? result : null;
}

function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function rows(entries: RunEntry[]): string[][] {
  return entries.flatMap((entry) => {
    if (!entry.result) return [[entry.name, `did not complete (exit code ${entry.exitCode})`, '', '', '✗']];
    return entry.result.figures.map((f) => [
      entry.name,
      f.label,
      `${format(f.value)} ${f.unit}`,
      f.target ?? '',
      f.ok === undefined ? '' : f.ok ? '✓' : '✗',
    ]);
  });
}

function markdown(results: Results): string {
  const m = results.machine;
  const lines = [
    '# Benchmark results',
    '',
    `Run ${results.at} on ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}; ` +
      `load average ${m.loadAverage.before.map((l) => l.toFixed(1)).join(' / ')} before, ` +
      `${m.loadAverage.after.map((l) => l.toFixed(1)).join(' / ')} after (1 / 5 / 15 min).`,
    'PostgreSQL, Redis and every process of a benchmark run on this machine. Run with `pnpm bench`.',
    '',
    '| benchmark | figure | value | target | met |',
    '| --- | --- | --- | --- | --- |',
    ...rows(results.benchmarks).map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`),
    '',
  ];
  return lines.join('\n');
}

function printTable(entries: RunEntry[]): void {
  const table = [['benchmark', 'figure', 'value', 'target', 'met'], ...rows(entries)];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  for (const row of table) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i]!)).join('  ')}\n`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { only: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  const all = benchmarks();
  if (values.help) {
    process.stdout.write(`Usage: pnpm bench [--only <name>]\nBenchmarks: ${all.join(', ')}\n`);
    return 0;
  }
  if (values.only !== undefined && !all.includes(values.only)) {
    process.stderr.write(`No benchmark named ${values.only}: choose one of ${all.join(', ')}.\n`);
    return 2;
  }
  const selected = values.only ? [values.only] : all;
  const before = loadavg();
  const since = Date.now();
  const ran: RunEntry[] = [];
  for (const name of selected) {
    const { exitCode, seconds } = await runOne(name);
    ran.push({ name, completed: exitCode === 0, exitCode, seconds, result: readResult(name, since) });
  }

  // `--only` refreshes its rows and keeps the other benchmarks' latest ones.
  const resultsFile = path.join(RESULTS_DIR, 'results.json');
  const previous: RunEntry[] =
    values.only && existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Results).benchmarks : [];
  const byName = new Map(previous.filter((e) => all.includes(e.name)).map((e) => [e.name, e]));
  for (const entry of ran) byName.set(entry.name, entry);
  const results: Results = {
    machine: { ...machine(), loadAverage: { before, after: loadavg() } },
    at: new Date().toISOString(),
    benchmarks: all.filter((n) => byName.has(n)).map((n) => byName.get(n)!),
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(RESULTS_DIR, 'RESULTS.md'), markdown(results));

  process.stdout.write(
    `\nResults (${cpus().length} CPUs, ${Math.round(totalmem() / 2 ** 30)} GiB, load ${before[0]?.toFixed(1)}):\n`,
  );
  printTable(results.benchmarks);
  process.stdout.write(
    `\nWritten: ${path.relative(ROOT, resultsFile)}, ${path.relative(ROOT, path.join(RESULTS_DIR, 'RESULTS.md'))}\n`,
  );
  return ran.every((e) => e.completed) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
