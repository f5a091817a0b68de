/**
 * Writing plots to files: the writer behind `plot -o`, `solve … --plot FILE`, `batch … --plot`
 * and `train … --plot loss.svg` (vega and resvg are loaded only when a plot is drawn).
 */
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { NetinvertError } from '../errors.ts';
import type { Model } from '../model.ts';
import type { CertifiedResult } from '../certify/certify.ts';
import type { PlotOptions, PlotSpec } from '../plot/spec.ts';
import { parseInteger } from './parse.ts';

const intOpt = (v: unknown, flag: string): number => parseInteger(v, flag, { min: 1, code: 'bad_usage', unit: 'pixels' });

/** The image format a file name asks for; a coded error for anything but .svg and .png. */
export function plotFormat(file: string, flag = '-o'): 'svg' | 'png' {
  const ext = extname(file).toLowerCase();
  if (ext === '.svg' || ext === '.png') return ext.slice(1) as 'svg' | 'png';
  throw new NetinvertError('bad_usage', `${flag} ${file}: a plot is written as .svg or .png; end the file name with one of them`, { file });
}

/** Write a spec as SVG or PNG (by the file's extension). */
export async function writeSpec(spec: PlotSpec, file: string, flag = '-o'): Promise<void> {
  const format = plotFormat(file, flag);
  const { renderSvg } = await import('../plot/render.ts');
  const svg = await renderSvg(spec);
  let bytes: string | Uint8Array = svg;
  if (format === 'png') bytes = (await import('../plot/png.ts')).svgToPng(svg);
  try {
    writeFileSync(file, bytes);
  } catch (e) {
    throw new NetinvertError('bad_usage', `${file}: cannot write the plot (${(e as Error).message}); check that the folder exists and is writable`, { file });
  }
}

/** Plot a result to a file; returns the line to print. */
export async function writePlot(model: Model, result: CertifiedResult, file: string, opts: Record<string, unknown>, flag = '--plot'): Promise<string> {
  plotFormat(file, flag);
  const { plotSpec, plotKind } = await import('../plot/spec.ts');
  const options: PlotOptions = {
    ...(typeof opts.unknowns === 'string' ? { unknowns: opts.unknowns.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
    ...(opts.width !== undefined ? { width: intOpt(opts.width, '--width') } : {}),
    ...(opts.height !== undefined ? { height: intOpt(opts.height, '--height') } : {}),
  };
  const spec = plotSpec(model, result, options);
  await writeSpec(spec, file, flag);
  return `wrote ${file}  (${plotKind(result, options).replace('-', ' ')}: ${(options.unknowns ?? result.query.bounds.map((b) => b.input)).join(', ')})`;
}
