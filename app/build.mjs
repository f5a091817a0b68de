// Build the app into dist/app/ (esbuild, platform browser): index.html, main.js, worker.js.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const OUT = fileURLToPath(new URL('../dist/app/', import.meta.url));

export async function buildApp({ minify = true } = {}) {
  mkdirSync(OUT, { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: { main: 'app/main.ts', worker: 'app/worker.ts' },
    outdir: OUT,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify,
    sourcemap: false,
    logLevel: 'warning',
    // resvg (PNG) is Node only and never loaded by the app
    external: ['@resvg/resvg-js'],
  });
  copyFileSync(new URL('./index.html', import.meta.url), OUT + 'index.html');
  return OUT;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = await buildApp();
  console.log(`wrote ${out}index.html`);
}
