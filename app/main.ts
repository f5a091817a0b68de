/**
 * The page: plain DOM. It reads files, builds the query from the form, and shows what the worker
 * answers. Plots are the same vega-lite specs as `netinvert plot`, drawn by vega in the page.
 */
import seedModel from '../models/seed-add.json';
import { formatPercent, plural, type Query, type CertifiedResult, type TargetSpec } from '../src/index.ts';
import { renderSvg } from '../src/plot/index.ts';
import type { FileIn, ModelInfo, Reply, Request } from './protocol.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & Record<string, unknown> = {}, ...kids: (Node | string)[]) => {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const k of kids) e.append(k);
  return e;
};

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
let nextId = 1;
const pending = new Map<number, (r: Reply) => void>();
worker.onmessage = (ev: MessageEvent<Reply & { id: number }>) => {
  const done = pending.get(ev.data.id);
  pending.delete(ev.data.id);
  done?.(ev.data);
};
function ask(req: Request): Promise<Reply> {
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    worker.postMessage({ id, ...req });
  });
}

let info: ModelInfo | null = null;
let lastResult: CertifiedResult | null = null;

function showError(e: { code: string; message: string } | null): void {
  const box = $('error');
  box.textContent = e ? `error [${e.code}]: ${e.message}` : '';
  box.hidden = !e;
  box.dataset.code = e?.code ?? '';
}

function busy(on: boolean, what = ''): void {
  document.body.dataset.busy = on ? '1' : '';
  $('busy').textContent = on ? what : '';
}

async function loadFiles(files: FileIn[]): Promise<void> {
  showError(null);
  busy(true, 'loading…');
  const r = await ask({ kind: 'load', files });
  busy(false);
  if (r.kind === 'error') {
    showError(r.error);
    return;
  }
  if (r.kind !== 'model') return;
  info = r.info;
  buildForm(info);
  clearAnswer();
}

async function readFiles(list: FileList | File[]): Promise<FileIn[]> {
  return Promise.all(Array.from(list).map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
}

const fmt = (v: number) => (Number.isFinite(v) ? String(Number(v.toPrecision(8))) : String(v));

function buildForm(m: ModelInfo): void {
  $('model').textContent = `${m.name} · ${m.inputs.length} input${m.inputs.length === 1 ? '' : 's'}, ${m.outputs.length} output${m.outputs.length === 1 ? '' : 's'} · hash ${m.hash}${m.warnings.length ? ` · ${m.warnings.join('; ')}` : ''}`;
  const ins = $('inputs');
  ins.replaceChildren();
  for (const inp of m.inputs) {
    const [lo, hi] = inp.range ?? [-10, 10];
    const mode = el('select', { className: 'mode', title: `how to treat ${inp.name}` }, el('option', { value: 'unknown', textContent: 'unknown' }), el('option', { value: 'given', textContent: 'given' }));
    const slider = el('input', { type: 'range', className: 'slider', min: String(lo), max: String(hi), step: String((hi - lo) / 1000 || 0.001), value: String((lo + hi) / 2) });
    const value = el('input', { type: 'number', className: 'value', step: 'any', value: String((lo + hi) / 2) });
    const blo = el('input', { type: 'number', className: 'lo', step: 'any', value: String(lo) });
    const bhi = el('input', { type: 'number', className: 'hi', step: 'any', value: String(hi) });
    const given = el('span', { className: 'given-ui' }, slider, value);
    const unknown = el('span', { className: 'unknown-ui' }, 'in [', blo, ', ', bhi, ']');
    const row = el('tr', {}, el('th', { textContent: inp.name }), el('td', { className: 'range', textContent: inp.range ? `trained on [${fmt(lo)}, ${fmt(hi)}]` : 'no training range' }), el('td', {}, mode), el('td', {}, given, unknown));
    row.dataset.input = inp.name;
    const sync = () => {
      given.hidden = mode.value !== 'given';
      unknown.hidden = mode.value !== 'unknown';
    };
    mode.onchange = sync;
    slider.oninput = () => {
      value.value = slider.value;
      if (($('live') as HTMLInputElement).checked) void solve(false);
    };
    value.oninput = () => {
      slider.value = value.value;
    };
    sync();
    ins.append(row);
  }
  const outs = $('outputs');
  outs.replaceChildren();
  m.outputs.forEach((o, i) => {
    const kind = el(
      'select',
      { className: 'kind' },
      ...[
        ['free', 'free'],
        ['eq', '='],
        ['range', 'in range'],
        ['ge', '≥'],
        ['le', '≤'],
      ].map(([v, t]) => el('option', { value: v, textContent: t })),
    );
    kind.value = i === 0 ? 'eq' : 'free';
    const mid = o.range ? (o.range[0] + o.range[1]) / 2 : 0;
    const v1 = el('input', { type: 'number', className: 'target', step: 'any', value: String(mid) });
    const v2 = el('input', { type: 'number', className: 'target-hi', step: 'any', value: String(o.range ? o.range[1] : mid + 1) });
    const sync = () => {
      v1.hidden = kind.value === 'free';
      v2.hidden = kind.value !== 'range';
    };
    kind.onchange = sync;
    sync();
    const row = el('tr', {}, el('th', { textContent: o.name }), el('td', { className: 'range', textContent: o.range ? `seen in [${fmt(o.range[0])}, ${fmt(o.range[1])}]` : '' }), el('td', {}, kind), el('td', {}, v1, v2));
    row.dataset.output = o.name;
    outs.append(row);
  });
  $('form').hidden = false;
}

function num(input: HTMLInputElement, what: string): number {
  const v = Number(input.value);
  if (input.value.trim() === '' || !Number.isFinite(v)) throw { code: 'bad_query', message: `${what}: "${input.value}" is not a number` };
  return v;
}

function readQuery(): Query {
  const given: Record<string, number> = {};
  const bounds: Record<string, [number, number]> = {};
  for (const row of Array.from($('inputs').querySelectorAll('tr'))) {
    const name = row.dataset.input!;
    const mode = (row.querySelector('.mode') as HTMLSelectElement).value;
    if (mode === 'given') given[name] = num(row.querySelector('.value') as HTMLInputElement, name);
    else bounds[name] = [num(row.querySelector('.lo') as HTMLInputElement, `${name} lower bound`), num(row.querySelector('.hi') as HTMLInputElement, `${name} upper bound`)];
  }
  const want: Record<string, TargetSpec> = {};
  for (const row of Array.from($('outputs').querySelectorAll('tr'))) {
    const name = row.dataset.output!;
    const kind = (row.querySelector('.kind') as HTMLSelectElement).value;
    const v1 = row.querySelector('.target') as HTMLInputElement;
    if (kind === 'eq') want[name] = num(v1, name);
    else if (kind === 'ge') want[name] = { ge: num(v1, name) };
    else if (kind === 'le') want[name] = { le: num(v1, name) };
    else if (kind === 'range') want[name] = { range: [num(v1, name), num(row.querySelector('.target-hi') as HTMLInputElement, name)] };
  }
  return { given, want, bounds };
}

function clearAnswer(): void {
  $('answer').hidden = true;
  lastResult = null;
}

const OUTCOME: Record<string, string> = {
  solved: 'Solved',
  'best-compromise': 'Best compromise: no input meets every target; this is the closest',
  infeasible: 'Infeasible: no input inside the bounds gives these outputs',
  unknown: 'Unknown: neither a solution nor a proof was found',
};

let solving = false;
async function solve(prove: boolean): Promise<void> {
  if (!info || solving) return;
  showError(null);
  let query: Query;
  try {
    query = readQuery();
  } catch (e) {
    showError(e as { code: string; message: string });
    return;
  }
  solving = true;
  busy(true, prove ? 'proving…' : 'solving…');
  const r = await ask({ kind: 'solve', query, prove, options: { timeLimit: prove ? 30 : 10 } });
  solving = false;
  busy(false);
  if (r.kind === 'error') {
    showError(r.error);
    return;
  }
  if (r.kind !== 'result') return;
  await showResult(r.result, r.brief, r.spec, r.plotError);
}

async function showResult(res: CertifiedResult, brief: string, spec: object | null, plotError: string | null): Promise<void> {
  lastResult = res;
  $('answer').hidden = false;
  const outcome = $('outcome');
  outcome.dataset.status = res.status;
  outcome.textContent = `${OUTCOME[res.status]}${res.proven || res.complete ? ' (proven)' : ''}. ${res.message}`;
  $('brief').textContent = brief;
  // solutions table: the unknowns, then the outputs, then the worst miss
  const pts = res.solutions.length ? res.solutions : res.best ? [res.best] : [];
  const unk = res.query.bounds.map((b) => b.input);
  const outs = res.query.targets.map((t) => t.output);
  const table = $('solutions');
  table.replaceChildren(el('tr', {}, el('th', { textContent: '#' }), ...unk.map((u) => el('th', { textContent: u })), ...outs.map((o) => el('th', { textContent: o })), el('th', { textContent: 'worst miss' }), el('th', { textContent: 'proof' })));
  pts.forEach((s, i) => {
    const row = el(
      'tr',
      {},
      el('td', { textContent: String(i + 1) }),
      ...unk.map((u) => {
        const td = el('td', { textContent: fmt(s.unknowns[u]) });
        td.dataset.unknown = u;
        return td;
      }),
      ...outs.map((o) => el('td', { textContent: fmt(s.outputs[o]) })),
      el('td', { textContent: s.maxMiss.toExponential(2) }),
      el('td', { textContent: s.proof === 'unique-root' ? 'unique root' : '' }),
    );
    table.append(row);
  });
  // proof summary
  const proof: string[] = [];
  if (res.certificate) proof.push(`certificate: ${res.certificate.claim} (${res.certificate.excluded.length} excluded, ${plural(res.certificate.roots?.length ?? 0, 'root box', 'root boxes')}), re-checked by the independent verifier`);
  if (res.certification) proof.push(`branch-and-bound: ${plural(res.certification.boxes, 'box')}, ${formatPercent(res.certification.excludedFraction)} proven empty, ${res.certification.undecidedBoxes} undecided${res.certification.budgetHit ? ' (budget hit)' : ''}`);
  if (res.excludedFraction !== undefined && !res.certificate) proof.push(`interval search: ${formatPercent(res.excludedFraction)} of the box proven to hold no solution`);
  if (!proof.length) proof.push('nothing proven yet: press Prove');
  $('proof').textContent = proof.join('\n');
  const json = $('download-json') as HTMLAnchorElement;
  json.href = URL.createObjectURL(new Blob([JSON.stringify(res, null, 2)], { type: 'application/json' }));
  const cert = $('download-cert') as HTMLAnchorElement;
  cert.hidden = !res.certificate;
  if (res.certificate) cert.href = URL.createObjectURL(new Blob([JSON.stringify(res.certificate, null, 2)], { type: 'application/json' }));
  const plot = $('plot');
  if (spec) {
    try {
      plot.innerHTML = await renderSvg(spec as never);
    } catch (e) {
      plot.textContent = `the plot could not be drawn: ${(e as Error).message}`;
    }
  } else plot.textContent = plotError ?? '';
  document.body.dataset.solved = String(Number(document.body.dataset.solved ?? 0) + 1);
}

async function seed(): Promise<void> {
  await loadFiles([{ name: 'seed-add.json', bytes: new TextEncoder().encode(JSON.stringify(seedModel)) }]);
  const a = $('inputs').querySelector('tr[data-input="a"]')!;
  (a.querySelector('.mode') as HTMLSelectElement).value = 'given';
  (a.querySelector('.mode') as HTMLSelectElement).dispatchEvent(new Event('change'));
  (a.querySelector('.value') as HTMLInputElement).value = '3';
  (a.querySelector('.slider') as HTMLInputElement).value = '3';
  ($('outputs').querySelector('tr[data-output="sum"] .target') as HTMLInputElement).value = '7';
}

$('open').addEventListener('change', async (ev) => {
  const input = ev.target as HTMLInputElement;
  if (input.files?.length) await loadFiles(await readFiles(input.files));
  input.value = '';
});
$('seed').onclick = () => void seed();
$('solve').onclick = () => void solve(false);
$('prove').onclick = () => void solve(true);
const drop = document.body;
drop.addEventListener('dragover', (ev) => {
  ev.preventDefault();
  document.body.classList.add('dragging');
});
drop.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
drop.addEventListener('drop', async (ev) => {
  ev.preventDefault();
  document.body.classList.remove('dragging');
  if (ev.dataTransfer?.files.length) await loadFiles(await readFiles(ev.dataTransfer.files));
});
document.body.dataset.ready = '1';
void lastResult;
