/**
 * `netinvert plot MODEL <solve's query flags> -o fig.svg|fig.png [--unknowns a,b] [--width --height]`,
 * (the file writer is ../plotFile.ts).
 */
import type { Command } from 'commander';
import { NetinvertError } from '../../errors.ts';
import type { IO } from '../io.ts';
import { plotFormat, writePlot } from '../plotFile.ts';
import { solveFromOptions } from './solve.ts';
import { addQueryOptions } from '../queryOptions.ts';


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
