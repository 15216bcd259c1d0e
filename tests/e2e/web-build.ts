import { closeSync, existsSync, openSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** The web app's package directory. */
export const WEB_DIR = path.join(ROOT, 'apps/web');
/** Where `vite build` writes the app, and where the API serves it from. */
export const WEB_DIST = path.join(WEB_DIR, 'dist');

function newestMtime(target: string): number {
  const stat = statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(target)) newest = Math.max(newest, newestMtime(path.join(target, entry)));
  return newest;
}

/** Whether `apps/web/dist` is missing or older than any of the app's sources. */
export function webBuildIsStale(): boolean {
  const builtIndex = path.join(WEB_DIST, 'index.html');
  if (!existsSync(builtIndex)) return true;
  const sources = ['src', 'index.html', 'vite.config.ts', 'package.json'].map((p) => path.join(WEB_DIR, p));
  return Math.max(...sources.filter(existsSync).map(newestMtime)) > statSync(builtIndex).mtimeMs;
}

/** Held while one test process builds the app: test files run in parallel processes. */
const BUILD_LOCK = path.join(WEB_DIR, '.dist-build.lock');
/** A lock older than this belongs to a process that died building. */
const STALE_LOCK_MS = 5 * 60_000;

/** Takes the build lock, waiting while another process holds it. */
async function lockBuild(): Promise<() => void> {
  for (;;) {
    try {
      closeSync(openSync(BUILD_LOCK, 'wx'));
      return () => rmSync(BUILD_LOCK, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      try {
        if (Date.now() - statSync(BUILD_LOCK).mtimeMs > STALE_LOCK_MS) rmSync(BUILD_LOCK, { force: true });
      } catch {
        // released meanwhile
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/**
 * Builds the web app with its own Vite (the one `apps/web` depends on, not Vitest's copy)
 * when the build is missing or stale. Returns whether it built. One process builds at a time
 * (a build empties `dist` first); the others wait for it and find the build fresh.
 */
export async function ensureWebBuilt(): Promise<boolean> {
  if (!webBuildIsStale()) return false;
  const unlock = await lockBuild();
  try {
    if (!webBuildIsStale()) return false;
    await buildWeb();
    return true;
  } finally {
    unlock();
  }
}

async function buildWeb(): Promise<void> {
  const requireFromWeb = createRequire(path.join(WEB_DIR, 'package.json'));
  // The tests package does not depend on Vite (nor its types): only `build` is used.
  const vite = (await import(pathToFileURL(requireFromWeb.resolve('vite')).href)) as {
    build(config: Record<string, unknown>): Promise<unknown>;
  };
  // Vitest runs with NODE_ENV=test, which would make Vite bundle the libraries' dev builds:
  // build exactly what `pnpm --filter @tenantry/web build` ships.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await vite.build({
      root: WEB_DIR,
      configFile: path.join(WEB_DIR, 'vite.config.ts'),
      mode: 'production',
      logLevel: 'warn',
    });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
}
