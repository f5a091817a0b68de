/** `netinvert inspect MODEL`: inputs, outputs, layers, parameter count and metadata. */
import type { Model } from '../../model.ts';
import { loadModelFile } from '../loadModelFile.ts';
import type { IO } from '../io.ts';

export function describeModel(model: Model): Record<string, unknown> {
  const net = model.network;
  return {
    name: model.metadata.name ?? null,
    hash: model.hash,
    inputs: net.inputNames,
    outputs: net.outputNames,
    parameters: net.parameterCount,
    layers: net.layers(),
    metadata: model.metadata,
  };
}

/** Width that name lists are folded to (an item longer than that gets a line of its own). */
export const FOLD_WIDTH = 100;

/** "head: a, b, c, …" folded into lines of at most `width` characters, continuation lines indented. */
export function fold(head: string, items: readonly string[], width = FOLD_WIDTH): string[] {
  const indent = '    ';
  const lines: string[] = [];
  let line = head.trimEnd();
  items.forEach((it, i) => {
    const piece = it + (i < items.length - 1 ? ',' : '');
    if (line.length + 1 + piece.length > width && line.trim() !== '') {
      lines.push(line);
      line = indent + piece;
    } else line += ' ' + piece;
  });
  lines.push(line);
  return lines;
}

export function inspectCommand(path: string, opts: { json?: boolean; meta?: string }, io: IO): number {
  const model = loadModelFile(path, opts.meta);
  const d = describeModel(model);
  if (opts.json) {
    io.out(JSON.stringify(d, null, 2));
    return 0;
  }
  const net = model.network;
  const md = model.metadata;
  const lines: string[] = [];
  lines.push(`model: ${md.name ?? path}   hash: ${model.hash}`);
  if (md.description) lines.push(md.description);
  if (md.source) lines.push(`source: ${[...new Set([md.source.format, md.source.producer, md.source.version].filter(Boolean))].join(', ')}`);
  const range = (r?: [number, number]): string => (r ? `[${r[0]}, ${r[1]}]` : '');
  lines.push(...fold(`inputs (${net.nIn}): `, net.inputNames.map((n) => `${n}${md.inputRanges?.[n] ? ' ' + range(md.inputRanges[n]) : ''}`)));
  lines.push(...fold(`outputs (${net.nOut}): `, net.outputNames.map((n) => `${n}${md.outputRanges?.[n] ? ' ' + range(md.outputRanges[n]) : ''}`)));
  if (md.inputStats) {
    const st = md.inputStats;
    lines.push(`prior (input statistics): ${st.names.length} inputs, mean and ${st.cov ? 'covariance' : 'std'}${st.count !== undefined ? ` of ${st.count} rows` : ''}${st.rows?.length ? `, ${st.rows.length} sample rows` : ''}`);
  }
  lines.push(`parameters: ${net.parameterCount}`);
  lines.push('layers:');
  for (const l of net.layers()) {
    lines.push(`  ${l.name.padEnd(24)} ${l.type.padEnd(16)} width ${String(l.width).padEnd(5)} ${l.params ? `${l.params} params` : ''}${l.inputs.length ? `  ← ${l.inputs.join(', ')}` : ''}`);
  }
  for (const w of md.warnings ?? []) lines.push(`warning: ${w}`);
  io.out(lines.join('\n'));
  return 0;
}
