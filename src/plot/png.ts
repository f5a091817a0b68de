/** SVG → PNG with resvg (a Rust rasteriser, prebuilt for each platform; no canvas, no browser). Node only. */
import { Resvg } from '@resvg/resvg-js';

/** Rasterise an SVG document on a white background; `scale` multiplies its size (default 1). */
export function svgToPng(svg: string, scale = 1): Uint8Array {
  const r = new Resvg(svg, {
    background: 'white',
    fitTo: scale === 1 ? { mode: 'original' } : { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return new Uint8Array(r.render().asPng());
}
