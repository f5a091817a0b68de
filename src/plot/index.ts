/**
 * netinvert/plot: pictures of answers. A separate entry so that the main entry's browser bundle
 * does not carry vega. renderPng is Node only (resvg); everything else also runs in a browser.
 */
export { plotSpec, plotKind, proofBoxes, queryTitle, signedMiss, zeroContour, PROOF_LABELS } from './spec.ts';
export type { PlotSpec, PlotOptions, PlotKind, ProofBox } from './spec.ts';
export { renderSvg, toVega } from './render.ts';
export { lossSpec } from './loss.ts';
export { batchSpec } from './batch.ts';
export type { BatchPoint } from './batch.ts';
export type { LossPoint } from './loss.ts';

/** The spec drawn as a PNG (Node only: loads @resvg/resvg-js on first use). */
export async function renderPng(spec: import('./spec.ts').PlotSpec, scale = 1): Promise<Uint8Array> {
  const { renderSvg } = await import('./render.ts');
  const { svgToPng } = await import('./png.ts');
  return svgToPng(await renderSvg(spec), scale);
}
