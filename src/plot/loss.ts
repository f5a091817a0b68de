/** The training loss curves (train --plot): standardized MSE per epoch, train and validation, log scale. */
import type { PlotSpec } from './spec.ts';

export interface LossPoint {
  phase: 'adam' | 'lbfgs';
  /** Step along the whole run: Adam epochs, then L-BFGS iterations after them. */
  step: number;
  trainLoss: number;
  valLoss: number | null;
}

export function lossSpec(history: LossPoint[], title: string, width = 640, height = 360): PlotSpec {
  const values = history.flatMap((h) => [
    ...(Number.isFinite(h.trainLoss) && h.trainLoss > 0 ? [{ step: h.step, loss: h.trainLoss, set: 'training', phase: h.phase }] : []),
    ...(h.valLoss !== null && Number.isFinite(h.valLoss) && h.valLoss > 0 ? [{ step: h.step, loss: h.valLoss, set: 'validation', phase: h.phase }] : []),
  ]);
  const switchAt = history.find((h) => h.phase === 'lbfgs')?.step;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, subtitle: 'standardized mean squared error per epoch (Adam), then per L-BFGS iteration', anchor: 'start' },
    width,
    height,
    usermeta: { netinvert: { kind: 'loss' } },
    layer: [
      {
        data: { values },
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'epoch' },
          y: { field: 'loss', type: 'quantitative', scale: { type: 'log' }, title: 'loss (standardized MSE, log scale)' },
          color: { field: 'set', type: 'nominal', title: 'loss on' },
        },
      },
      ...(switchAt !== undefined
        ? [
            { data: { values: [{ step: switchAt - 0.5 }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#888' }, encoding: { x: { field: 'step', type: 'quantitative' } } },
            {
              data: { values: [{ step: switchAt - 0.5, label: 'L-BFGS polish →' }] },
              mark: { type: 'text', align: 'left', baseline: 'top', dx: 4, y: 4, color: '#555' },
              encoding: { x: { field: 'step', type: 'quantitative' }, text: { field: 'label' } },
            },
          ]
        : []),
    ],
  };
}
