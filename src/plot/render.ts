/**
 * Drawing a spec: vega-lite compiles it to vega, vega renders it headless to SVG (renderer
 * 'none': no canvas, no DOM; the same code runs in Node and in a browser). PNG is the SVG
 * rasterised by resvg (@resvg/resvg-js, Node only: png.ts, loaded on demand).
 */
import { compile } from 'vega-lite';
import { logger, None, parse, View } from 'vega';
import { NetinvertError } from '../errors.ts';
import type { PlotSpec } from './spec.ts';

/** The vega spec a vega-lite spec compiles to (what a page embeds with vega's own View). */
export function toVega(spec: PlotSpec): object {
  try {
    return compile(spec as never, { logger: logger(None) }).spec;
  } catch (e) {
    throw new NetinvertError('bad_argument', `not a valid vega-lite spec: ${(e as Error).message}`);
  }
}

/** The spec drawn as an SVG document (a string). */
export async function renderSvg(spec: PlotSpec): Promise<string> {
  const view = new View(parse(toVega(spec) as never), { renderer: 'none', logger: logger(None) });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
