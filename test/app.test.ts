/**
 * The browser app (app/), built with esbuild and driven in Debian's Chromium by playwright-core:
 * the seed question solved in the page, a genuine third-party ONNX net (ACAS Xu, read from
 * test/fixtures/third-party/acasxu like test/acasxu.test.ts does) dropped and solved — its answer
 * re-checked with onnxruntime-web —, a broken file giving the coded error, and a plot that is
 * drawn (screenshot decoded, not blank).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import * as ort from 'onnxruntime-web';
// @ts-expect-error: a plain .mjs script without types
import { serveApp } from '../app/serve.mjs';
import { decodePng, inkStats } from './util/png.ts';
import { loadTfjsModel } from '../src/index.ts';

ort.env.wasm.numThreads = 1;
const ACAS = join(__dirname, 'fixtures', 'third-party', 'acasxu');
const ACAS_NET = join(ACAS, 'onnx', 'ACASXU_run2a_1_1_batch_2000.onnx');

/** Debian's chromium (apt-get install chromium; .ci/run installs it when missing). */
function chromiumPath(): string {
  const p = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((x) => existsSync(x));
  if (!p) throw new Error('no chromium found: install it with `apt-get install -y chromium` (or set CHROMIUM_PATH)');
  return p;
}

let browser: Browser;
let server: Server;
let url: string;

beforeAll(async () => {
  ({ server, url } = await serveApp(0));
  browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-gpu'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
});

async function openApp(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]');
  (page as unknown as { pageErrors: string[] }).pageErrors = errors;
  return page;
}

/** Drop files on the page the way a user's drag and drop does (a DataTransfer with File objects). */
async function dropFiles(page: Page, files: { name: string; bytes: Uint8Array }[]): Promise<void> {
  await page.evaluate(
    (fs) => {
      const dt = new DataTransfer();
      for (const f of fs) dt.items.add(new File([new Uint8Array(f.bytes)], f.name));
      document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    files.map((f) => ({ name: f.name, bytes: Array.from(f.bytes) })),
  );
}

async function solved(page: Page, before: number): Promise<void> {
  await page.waitForFunction((n) => Number(document.body.dataset.solved ?? 0) > n, before, { timeout: 60_000 });
}

describe('the app in Chromium', () => {
  it('the seed example: a = 3, sum = 7 gives b = 4.0118 in the table, and a plot is drawn', async () => {
    const page = await openApp();
    await page.click('#seed');
    await page.waitForSelector('tr[data-input="a"]');
    await page.selectOption('tr[data-input="a"] .mode', 'given');
    await page.fill('tr[data-input="a"] .value', '3');
    await page.fill('tr[data-output="sum"] .target', '7');
    await page.click('#solve');
    await solved(page, 0);
    expect(await page.getAttribute('#outcome', 'data-status')).toBe('solved');
    const b = Number(await page.textContent('#solutions td[data-unknown="b"]'));
    expect(b).toBeCloseTo(4.0118, 4);
    // the plot: an SVG with the root's label, and pixels that are not all background
    expect(await page.textContent('#plot svg')).toContain('b = 4.0118');
    const png = decodePng(new Uint8Array(await page.locator('#plot').screenshot()));
    const ink = inkStats(png);
    expect(png.width).toBeGreaterThan(300);
    expect(ink.colours).toBeGreaterThan(10);
    expect(ink.inkFraction).toBeGreaterThan(0.02);
    // prove: the certificate becomes downloadable
    await page.click('#prove');
    await solved(page, 1);
    expect(await page.textContent('#proof')).toContain('certificate: complete');
    expect(await page.isHidden('#download-cert')).toBe(false);
    expect((page as unknown as { pageErrors: string[] }).pageErrors).toEqual([]);
    await page.close();
  });

  it('a dropped ACAS Xu ONNX net loads and solves; onnxruntime agrees with the answer', async () => {
    const page = await openApp();
    const bytes = new Uint8Array(readFileSync(ACAS_NET));
    await dropFiles(page, [{ name: 'ACASXU_run2a_1_1_batch_2000.onnx', bytes }]);
    await page.waitForSelector('#inputs tr');
    const inputs = await page.$$eval('#inputs tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.input!));
    const outputs = await page.$$eval('#outputs tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.output!));
    expect(inputs).toHaveLength(5);
    expect(outputs).toHaveLength(5);
    // first four inputs given (0), the last unknown in [-0.5, 0.5]; want output 0 = 0
    for (const n of inputs.slice(0, 4)) {
      await page.selectOption(`tr[data-input="${n}"] .mode`, 'given');
      await page.fill(`tr[data-input="${n}"] .value`, '0');
    }
    const last = inputs[4];
    await page.fill(`tr[data-input="${last}"] .lo`, '-0.5');
    await page.fill(`tr[data-input="${last}"] .hi`, '0.5');
    await page.selectOption(`tr[data-output="${outputs[0]}"] .kind`, 'ge');
    await page.fill(`tr[data-output="${outputs[0]}"] .target`, '-1');
    await page.click('#solve');
    await solved(page, 0);
    const status = await page.getAttribute('#outcome', 'data-status');
    expect(status).toBe('solved');
    const x = Number(await page.textContent(`#solutions td[data-unknown="${last}"]`));
    expect(x).toBeGreaterThanOrEqual(-0.5);
    expect(x).toBeLessThanOrEqual(0.5);
    const y0 = Number(await page.textContent('#solutions tr:nth-child(2) td:nth-child(3)'));
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const res = await session.run({ input: new ort.Tensor('float32', Float32Array.from([0, 0, 0, 0, x]), [1, 1, 1, 5]) });
    const ref = (Object.values(res)[0].data as Float32Array)[0];
    expect(ref).toBeGreaterThanOrEqual(-1 - 1e-4);
    expect(y0).toBeCloseTo(ref, 4);
    await page.close();
  });

  it('a TF.js model.json dropped with its shard lists the same inputs as the Node loader; without the shard, a coded error names it', async () => {
    const dir = join(__dirname, 'fixtures', 'third-party', 'tfjs-layers', 'abalone-node-trainedModel');
    const json = readFileSync(join(dir, 'model.json'));
    const shard = readFileSync(join(dir, 'weights.bin'));
    const node = loadTfjsModel(json.toString('utf8'), () => new Uint8Array(shard), { file: 'model.json' });
    const page = await openApp();
    await dropFiles(page, [
      { name: 'model.json', bytes: new Uint8Array(json) },
      { name: 'weights.bin', bytes: new Uint8Array(shard) },
    ]);
    await page.waitForSelector('#inputs tr');
    expect(await page.$$eval('#inputs tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.input!))).toEqual([...node.inputNames]);
    expect(await page.$$eval('#outputs tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.output!))).toEqual([...node.outputNames]);
    expect(await page.textContent('#model')).toContain(node.hash);
    await dropFiles(page, [{ name: 'model.json', bytes: new Uint8Array(json) }]);
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.textContent('#error')).toMatch(/^error \[bad_model_file\]: model\.json needs the weight shard "[^"]*weights\.bin"/);
    await page.close();
  });

  it('a broken file shows the coded error in the page', async () => {
    const page = await openApp();
    await page.setInputFiles('#open', { name: 'broken.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from('this is not a protobuf at all \u0000\u00ff') });
    await page.waitForSelector('#error:not([hidden])');
    const text = (await page.textContent('#error'))!;
    expect(text).toMatch(/^error \[bad_model_file\]: broken\.onnx/);
    expect(await page.getAttribute('#error', 'data-code')).toBe('bad_model_file');
    await page.close();
  });
});
