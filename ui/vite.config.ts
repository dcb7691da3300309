/** Vite build of the web UI: root ui/, output dist/ui at the repository root (served by api/routes/ui.ts). */
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  // Preact's automatic JSX runtime (no React, no compat layer: the bundle stays small).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // CSP default-src 'self': no inline scripts or data: modules; the polyfill is not needed by Chromium/Firefox/Safari of today.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
