/**
 * The leaves checked while the search runs (certify/vnn/decide.ts leafSink, cli/leafThread.ts):
 * the keys vnnRefutedLeaves gives are the keys the certificate walk derives (so the end check
 * skips them), a leaf it cannot refute never gets a key, keys of one property never match
 * another's, and `verify` gives the same answers with and without the thread.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { confirmWitness, decideVnnlib, innerHi, innerLo, type LeafSink } from '../src/certify/vnn/decide.ts';
import { specForms } from '../src/certify/vnn/bounds.ts';
import { verifyVnnCertificate, vnnRefutedLeaves, type VnnPathLeaf } from '../src/certify/proof/vnnVerifier.ts';
import { buildVnnCertificate } from '../src/certify/proof/vnnCertificate.ts';
import { loadOnnxModel } from '../src/formats/onnx/load.ts';
import { parseVnnlib } from '../src/formats/vnnlib/parse.ts';
import type { VnnlibSpec } from '../src/formats/vnnlib/types.ts';
import type { Model } from '../src/model.ts';
import { LeafThread } from '../src/cli/leafThread.ts';
import { run } from './util/cli.ts';

const ACAS = join(__dirname, 'fixtures', 'third-party', 'acasxu');
const acasFile = (id: string): string => join(ACAS, 'onnx', `ACASXU_run2a_${id}_batch_2000.onnx`);
const acasNet = (id: string): Model => loadOnnxModel(new Uint8Array(readFileSync(acasFile(id))));
const acasProp = (p: number): VnnlibSpec => parseVnnlib(readFileSync(join(ACAS, `prop_${p}.vnnlib`), 'utf8'), `prop_${p}.vnnlib`);

/** A sink that refutes each batch at once, in this thread, and keeps what it was sent. */
function inThread(model: Model, spec: VnnlibSpec): LeafSink & { sent: VnnPathLeaf[]; keys: Set<string> } {
  const sent: VnnPathLeaf[] = [];
  const keys = new Set<string>();
  return {
    sent,
    keys,
    submit(leaves) {
      sent.push(...leaves);
      for (const k of vnnRefutedLeaves(model, spec, leaves)) keys.add(k);
    },
    finish: () => keys,
  };
}

/** The preorder leaves of a certificate's trees with their paths (triples d, t, side). */
function pathLeaves(trees: number[][][]): VnnPathLeaf[] {
  const out: VnnPathLeaf[] = [];
  trees.forEach((t, tree) => {
    let pos = 0;
    const walk = (path: number[]): void => {
      const n = t[pos++];
      if (n.length !== 2) return void out.push({ tree, path, record: n.length ? n : null });
      walk([...path, n[0], n[1], 0]);
      walk([...path, n[0], n[1], 1]);
    };
    walk([]);
  });
  return out;
}

describe('leaves refuted while the search runs', () => {
  it('ACAS Xu 2_1 / property 3: every closed leaf is sent, the end check skips the ones refuted, and the certificate still passes a full check', () => {
    const model = acasNet('2_1'),
      spec = acasProp(3);
    const sink = inThread(model, spec);
    const r = decideVnnlib(model, spec, { timeout: 60, leafSink: sink });
    expect(r.status).toBe('unsat');
    const cert = r.certificate!;
    // the sent leaves are the certificate's leaves (same paths)
    const leaves = pathLeaves(cert.trees);
    expect(sink.sent.map((l) => `${l.tree}:${l.path.join(',')}`).sort()).toEqual(leaves.map((l) => `${l.tree}:${l.path.join(',')}`).sort());
    expect(sink.keys.size).toBeGreaterThan(0);
    expect(r.stats.threadRefuted).toBe(sink.keys.size);
    // the full check (no keys) accepts it; with the keys, only the leaves not refuted are checked
    const full = verifyVnnCertificate(model, spec, cert);
    expect(full.ok).toBe(true);
    expect(full.leaves).toBe(leaves.length);
    const skipped = verifyVnnCertificate(model, spec, cert, { refuted: sink.keys });
    expect(skipped.ok).toBe(true);
    expect(skipped.leaves).toBe(leaves.length - sink.keys.size);
  });

  it('a leaf the verifier cannot refute gets no key, so a forged tree is still rejected; paths outside the box are skipped', () => {
    // 1_2 / property 2 is violated (published sat): its whole box cannot be refuted
    const model = acasNet('1_2'),
      spec = acasProp(2);
    const b = spec.inputBoxes[0];
    expect(vnnRefutedLeaves(model, spec, [{ tree: 0, path: [], record: null }])).toEqual([]);
    // a forged certificate: two halves of X_0, each a plain leaf; the keys of whatever the
    // verifier can refute in a fine grid under them do not cover the halves themselves
    const t = (b.lo[0] + b.hi[0]) / 2;
    const forged = buildVnnCertificate(model, spec, [[[0, t], [], []]]);
    const fine: VnnPathLeaf[] = [];
    for (let i = 0; i < 8; i++) {
      const path: number[] = [];
      let lo = b.lo[0],
        hi = b.hi[0];
      for (let bit = 2; bit >= 0; bit--) {
        const m = (lo + hi) / 2;
        const side = (i >> bit) & 1;
        path.push(0, m, side);
        if (side) lo = m;
        else hi = m;
      }
      fine.push({ tree: 0, path, record: null });
    }
    const keys = new Set(vnnRefutedLeaves(model, spec, fine));
    expect(keys.size).toBeLessThan(8);
    expect(verifyVnnCertificate(model, spec, forged, { refuted: keys }).ok).toBe(false);
    // malformed paths: a split outside the box side, an index out of range, a bad side
    const bad: VnnPathLeaf[] = [
      { tree: 0, path: [0, b.hi[0] + 1, 0], record: null },
      { tree: 0, path: [7, 0, 0], record: null },
      { tree: 0, path: [0, t, 2], record: null },
      { tree: 3, path: [], record: null },
    ];
    expect(vnnRefutedLeaves(model, spec, bad)).toEqual([]);
  });

  it('keys are scoped to the property: the keys of property 3 do not make property 4 skip a leaf', () => {
    const model = acasNet('2_1');
    const p3 = acasProp(3),
      p4 = acasProp(4);
    // the same box for both (property 4's box), and the same tree: the root split once
    const spec3: VnnlibSpec = { ...p3, inputBoxes: p4.inputBoxes };
    const b = p4.inputBoxes[0];
    const d = [0, 1, 2, 3, 4].find((k) => b.hi[k] > b.lo[k]) as number;
    const t = (b.lo[d] + b.hi[d]) / 2;
    const leaves: VnnPathLeaf[] = [
      { tree: 0, path: [d, t, 0], record: null },
      { tree: 0, path: [d, t, 1], record: null },
    ];
    const k3 = new Set(vnnRefutedLeaves(model, spec3, leaves));
    const k4 = new Set(vnnRefutedLeaves(model, p4, leaves));
    for (const k of k3) expect(k4.has(k)).toBe(false);
    const cert4 = buildVnnCertificate(model, p4, [[[d, t], [], []]]);
    // with property 3's keys every leaf of property 4 is still checked
    const r = verifyVnnCertificate(model, p4, cert4, { refuted: k3 });
    const plain = verifyVnnCertificate(model, p4, cert4);
    expect(r.ok).toBe(plain.ok);
    expect(r.leaves).toBe(plain.leaves);
  });

  it('LeafThread: the thread refutes the leaves, the end check skips them, and the certificate passes a full check', async () => {
    const model = acasNet('2_1'),
      spec = acasProp(3);
    const thread = new LeafThread(model, spec);
    // the thread started and ready before the search (from the TypeScript source it takes ~1 s)
    thread.start();
    for (let i = 0; i < 200 && !thread.ready; i++) await new Promise((r) => setTimeout(r, 50));
    expect(thread.ready).toBe(true);
    let r;
    try {
      r = decideVnnlib(model, spec, { timeout: 60, leafSink: thread });
    } finally {
      await thread.close();
    }
    expect(r.status).toBe('unsat');
    expect(r.stats.threadRefuted).toBeGreaterThan(0);
    // the end check skipped the thread's leaves; a full check of the same certificate accepts it
    expect(verifyVnnCertificate(model, spec, r.certificate!).ok).toBe(true);
  }, 120_000);

  it("LeafThread's end: this thread takes the newest batches the thread has not reached, and together they refute exactly the leaves one full check refutes", async () => {
    const model = acasNet('1_1'),
      spec = acasProp(2);
    const r = decideVnnlib(model, spec, { timeout: 60, noFalsify: true });
    expect(r.status).toBe('unsat');
    const leaves = pathLeaves(r.certificate!.trees);
    expect(leaves.length).toBeGreaterThan(60);
    // the oracle: one check of every leaf in this thread
    const all = new Set(vnnRefutedLeaves(model, spec, leaves));
    expect(all.size).toBe(leaves.length);
    const thread = new LeafThread(model, spec);
    thread.start();
    for (let i = 0; i < 200 && !thread.ready; i++) await new Promise((res) => setTimeout(res, 50));
    expect(thread.ready).toBe(true);
    let got: ReadonlySet<string>;
    const batches = Math.ceil(leaves.length / 3);
    try {
      // every batch sent at once, then the end: the thread has at most begun the first few
      for (let i = 0; i < leaves.length; i += 3) thread.submit(leaves.slice(i, i + 3));
      got = thread.finish(performance.now() + 60_000);
    } finally {
      await thread.close();
    }
    expect([...got].sort()).toEqual([...all].sort());
    // this thread took the newest batches; the thread the rest
    expect(thread.shared).toBeGreaterThan(0);
    expect(thread.shared).toBeLessThanOrEqual(batches);
  }, 120_000);

  it("LeafThread's restarts: on a violated instance the thread posts a witness, which a forward pass here confirms", async () => {
    const model = acasNet('1_2'),
      spec = acasProp(2);
    const thread = new LeafThread(model, spec);
    try {
      const boxes = spec.inputBoxes.map((b) => ({ lo: innerLo(b.lo, b.hi), hi: innerHi(b.lo, b.hi) }));
      thread.restarts({ boxes, seed: 5, ms: 20_000 });
      let w = null;
      for (let i = 0; i < 400 && !w; i++) {
        await new Promise((r) => setTimeout(r, 50));
        w = thread.witness();
      }
      expect(w).not.toBeNull();
      const ok = confirmWitness(model, spec, specForms(spec), w!);
      expect(ok).not.toBeNull();
      // the point is in the box and its float64 output is in the clause it names
      const y = model.network.evaluate(Float64Array.from(ok!.x), 1);
      expect(spec.inputBoxes.some((b) => ok!.x.every((v, i) => v >= b.lo[i] && v <= b.hi[i]))).toBe(true);
      expect(
        spec.outputDnf[ok!.clause].every((k) => {
          let v = k.constant;
          for (let j = 0; j < y.length; j++) v += k.coeffs[j] * y[j];
          return k.relation === '<=' ? v <= 0 : k.relation === '>=' ? v >= 0 : v === 0;
        }),
      ).toBe(true);
      // a witness is handed over once
      expect(thread.witness()).toBeNull();
    } finally {
      await thread.close();
    }
  }, 60_000);

  it('verify with and without --no-check-thread: the same first word on a proven and a violated instance', async () => {
    for (const [id, p, want] of [
      ['2_1', 3, 'unsat'],
      ['1_2', 2, 'sat'],
    ] as const) {
      for (const extra of [[], ['--no-check-thread']]) {
        const r = await run(['verify', acasFile(id), join(ACAS, `prop_${p}.vnnlib`), '--timeout', '60', ...extra]);
        expect(r.code).toBe(0);
        expect(r.out.split('\n')[0]).toBe(want);
      }
    }
  }, 120_000);
});
