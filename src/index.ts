/** netinvert: the public surface. Explicit named re-exports only. */
export { NetinvertError, isNetinvertError } from './errors.ts';
export type { ErrorCode } from './errors.ts';
export { Network, network } from './graph/network.ts';
export type { JacobianOptions, IntervalResult, ParamRef } from './graph/network.ts';
export type { GraphDef, NodeDef, InputDef, OutputDef, OpSpec } from './graph/types.ts';
export { featureNames } from './graph/types.ts';
export { makeUnary, UNARY_NAMES } from './graph/activations/index.ts';
export type { UnaryFn } from './graph/activations/types.ts';
export { erf, erfc } from './graph/activations/special.ts';
export { nextUp, nextDown } from './graph/round.ts';
export { createModel, graphHash } from './model.ts';
export type { Model, ModelMetadata } from './model.ts';
export { loadNativeModel, saveNativeModel } from './formats/native/load.ts';
export type { NativeModelFile } from './formats/native/format.ts';
