/**
 * The web app's JavaScript as a first visit downloads it: builds `apps/web` for production
 * (into a temporary directory), follows the entry script of `index.html` and every chunk it
 * loads before the app runs (module preloads and static imports), and gzips each one.
 *
 *   pnpm exec tsx bench/web-bundle.bench.ts
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { writeResult } from './lib/results.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const WEB = path.join(ROOT, 'apps/web');
const TARGET_KB = 100;

/** The JavaScript files `index.html` makes the browser load at start, by path relative to the build. */
function initialChunks(outDir: string): string[] {
  const html = readFileSync(path.join(outDir, 'index.html'), 'utf8');
  const refs = [
    ...html.matchAll(/<script[^>]+type="module"[^>]+src="([^"]+)"/g),
    ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"/g),
  ].map((m) => m[1]!.replace(/^\//, ''));
  const seen = new Set<string>();
  const queue = [...refs];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const code = readFileSync(path.join(outDir, file), 'utf8');
    // Static imports only (`import … from "./x.js"`, `import "./x.js"`); dynamic import() loads later.
    for (const m of code.matchAll(/(?:^|[;\s}])import\s*(?:[\w*{}\s,$]+from\s*)?["']([^"']+\.js)["']/g)) {
      queue.push(path.posix.join(path.posix.dirname(file), m[1]!));
    }
  }
  return [...seen];
}

const outDir = mkdtempSync(path.join(tmpdir(), 'tenantry-web-bench-'));
try {
  const requireFromWeb = createRequire(path.join(WEB, 'package.json'));
  const vite = (await import(pathToFileURL(requireFromWeb.resolve('vite')).href)) as {
    build(config: Record<string, unknown>): Promise<unknown>;
  };
  process.stdout.write('  building apps/web for production…\n');
  const started = performance.now();
  process.env.NODE_ENV = 'production';
  await vite.build({
    root: WEB,
    configFile: path.join(WEB, 'vite.config.ts'),
    mode: 'production',
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  const buildSeconds = (performance.now() - started) / 1000;

  const chunks = initialChunks(outDir).map((file) => {
    const raw = readFileSync(path.join(outDir, file));
    return { file, bytes: raw.length, gzipBytes: gzipSync(raw).length };
  });
  if (chunks.length === 0)
    throw new Error('index.html loads no JavaScript: the build is not what this benchmark expects');
  const gzipKB = chunks.reduce((sum, c) => sum + c.gzipBytes, 0) / 1024;
  const rawKB = chunks.reduce((sum, c) => sum + c.bytes, 0) / 1024;
  writeResult({
    name: 'web-bundle',
    description: 'JavaScript the web app loads at start (entry, preloads, static imports), gzipped',
    figures: [
      {
        label: 'initial JavaScript, gzipped',
        value: gzipKB,
        unit: 'KB',
        target: `<= ${TARGET_KB} KB`,
        ok: gzipKB <= TARGET_KB,
      },
      { label: 'initial JavaScript, minified', value: rawKB, unit: 'KB' },
      { label: 'chunks loaded at start', value: chunks.length, unit: 'files' },
      { label: 'production build time', value: buildSeconds, unit: 's' },
    ],
    details: { chunks },
  });
} finally {
  rmSync(outDir, { recursive: true, force: true });
}
