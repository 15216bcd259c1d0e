import { defineConfig } from 'vite';
import solid from 'vite-plugin-solid';

const api = 'http://127.0.0.1:3000';

export default defineConfig({
  plugins: [solid()],
  server: {
    port: 5173,
    proxy: {
      '/trpc': { target: api, changeOrigin: false },
      '/api': { target: api, changeOrigin: false },
      '/admin/jobs': { target: api, changeOrigin: false },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    rolldownOptions: {
      // Core is pure (no I/O, no import-time effects): let the web bundle take the few
      // functions it uses (slug rules) without zod and jose, which only the server needs.
      treeshake: { moduleSideEffects: [{ test: /[\\/]packages[\\/]core[\\/]src[\\/]/, sideEffects: false }] },
    },
  },
});
