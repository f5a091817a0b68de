/**
 * The library must bundle for the browser (docs/design.md, Numerics): esbuild bundles src/index.ts
 * for platform "browser", and nothing Node-only may leak in: no `node:` module, no require of a
 * Node built-in, in the output or among the bundle's inputs.
 */
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith('_')).map((m) => m.replace(/^node:/, '')));

describe('browser bundle', () => {
  it('src/index.ts bundles for the browser with no Node built-ins', async () => {
    const result = await build({
      absWorkingDir: ROOT,
      entryPoints: ['src/index.ts'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
      outfile: 'netinvert.browser.js',
    });
    expect(result.errors).toEqual([]);
    expect(result.outputFiles.length).toBeGreaterThan(0);
    const js = result.outputFiles.map((f) => f.text).join('\n');
    expect(js.length).toBeGreaterThan(1000);

    // no node: specifiers anywhere in import / export / require / dynamic import
    const specifiers = [...js.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)["']([^"']+)["']/g)].map((m) => m[1]);
    const leaked = specifiers.filter((s) => s.startsWith('node:') || BUILTINS.has(s) || BUILTINS.has(s.split('/')[0]));
    expect(leaked, `Node built-ins imported by the bundle: ${leaked.join(', ')}`).toEqual([]);
    expect(js).not.toMatch(/["']node:[a-z_/]+["']/);

    // and none among the inputs esbuild resolved
    const meta = result.metafile!;
    for (const [file, input] of Object.entries(meta.inputs)) {
      expect(file.startsWith('node:'), `input ${file}`).toBe(false);
      for (const imp of input.imports) {
        const bad = imp.path.startsWith('node:') || (imp.external === true && BUILTINS.has(imp.path.split('/')[0]));
        expect(bad, `${file} imports ${imp.path}`).toBe(false);
      }
    }
    // the bundle really holds the engine
    expect(Object.keys(meta.inputs).some((f) => f.endsWith('src/graph/network.ts'))).toBe(true);
    expect(js).toMatch(/loadNativeModel/);
  });

  it('a Node built-in would be caught (the check itself works)', async () => {
    // a file importing node:fs must not bundle for the browser
    await expect(
      build({
        absWorkingDir: ROOT,
        stdin: { contents: "import { readFileSync } from 'node:fs'; export const f = readFileSync;", resolveDir: ROOT, loader: 'ts' },
        bundle: true,
        platform: 'browser',
        format: 'esm',
        write: false,
        logLevel: 'silent',
      }),
    ).rejects.toThrow(/node:fs/);
  });
});
