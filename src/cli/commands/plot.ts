/**
 * `netinvert plot MODEL <solve's query flags> -o fig.svg|fig.png [--unknowns a,b] [--width --height]`,
 * and the writer behind `solve … --plot FILE` and `train … --plot loss.svg`.
 */
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { NetinvertError } from '../../errors.ts';
import type { Model } from '../../model.ts';
import type { SolveResult } from '../../solve/result.ts';
import type { PlotOptions, PlotSpec } from '../../plot/spec.ts';
import type { IO } from '../io.ts';
import { solveFromOptions } from './solve.ts';
import { addQueryOptions } from '../queryOptions.ts';


function intOpt(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isInteger(x) || x <= 0) throw new NetinvertError('bad_usage', `${flag} must be a whole number of pixels (got "${String(v)}")`, { flag });
  return x;
}

/** The image format a file name asks for; a coded error for anything but .svg and .png. */
export function plotFormat(file: string, flag = '-o'): 'svg' | 'png' {
  const ext = extname(file).toLowerCase();
  if (ext === '.svg' || ext === '.png') return ext.slice(1) as 'svg' | 'png';
  throw new NetinvertError('bad_usage', `${flag} ${file}: a plot is written as .svg or .png; end the file name with one of them`, { file });
}

/** Write a spec as SVG or PNG (by the file's extension). */
export async function writeSpec(spec: PlotSpec, file: string, flag = '-o'): Promise<void> {
  const format = plotFormat(file, flag);
  const { renderSvg } = await import('../../plot/render.ts');
  const svg = await renderSvg(spec);
  let bytes: string | Uint8Array = svg;
  if (format === 'png') bytes = (await import('../../plot/png.ts')).svgToPng(svg);
  try {
    writeFileSync(file, bytes);
  } catch (e) {
    throw new NetinvertError('bad_usage', `${file}: cannot write the plot (${(e as Error).message}); check that the folder exists and is writable`, { file });
  }
}

/** Plot a result to a file; returns the line to print. */
export async function writePlot(model: Model, result: SolveResult, file: string, opts: Record<string, unknown>, flag = '--plot'): Promise<string> {
  plotFormat(file, flag);
  const { plotSpec, plotKind } = await import('../../plot/spec.ts');
  const options: PlotOptions = {
    ...(typeof opts.unknowns === 'string' ? { unknowns: opts.unknowns.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
    ...(opts.width !== undefined ? { width: intOpt(opts.width, '--width') } : {}),
    ...(opts.height !== undefined ? { height: intOpt(opts.height, '--height') } : {}),
  };
  const spec = plotSpec(model, result, options);
  await writeSpec(spec, file, flag);
  return `wrote ${file}  (${plotKind(result, options).replace('-', ' ')}: ${(options.unknowns ?? result.query.bounds.map((b) => b.input)).join(', ')})`;
}

export async function plotCommand(modelPath: string, opts: Record<string, unknown>, io: IO): Promise<number> {
  if (typeof opts.output !== 'string') throw new NetinvertError('bad_usage', 'say where to write the plot with -o fig.svg or -o fig.png', { flag: '-o' });
  plotFormat(opts.output);
  const { model, result } = await solveFromOptions(modelPath, opts);
  const line = await writePlot(model, result, opts.output, opts, '-o');
  io.out(result.briefReport());
  io.out(line);
  return 0;
}

/** The plot command's options: solve's query flags, then the picture's. */
export function definePlotCommand(cmd: Command): Command {
  return addQueryOptions(
    cmd
    .description('solve the query, then draw the answer: the output along one unknown, a heatmap over two, parallel coordinates for more')
    .argument('<model>', 'model file: .onnx, .keras, .h5, TF.js model.json, or native .json')
    .requiredOption('-o, --output <file>', 'where to write the plot: .svg or .png')
    .option('--unknowns <list>', 'which unknowns to draw (1, 2 or more; the others are fixed at the first solution): name,name')
    .option('--width <px>', 'width of the plot area in pixels', '640')
    .option('--height <px>', 'height of the plot area in pixels', '400'),
    'prove too, and colour what was proven (root-free, unique root, empty boxes)',
  )
    .option('--query <file>', 'the query as a JSON file instead of the query flags');
}
