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
export type { InputStats, Model, ModelMetadata } from './model.ts';
export { loadNativeModel, saveNativeModel } from './formats/native/load.ts';
export type { NativeModelFile } from './formats/native/format.ts';
export { invert } from './api/invert.ts';
export { INVERT_DEFAULTS, SOLVER_OPTIONS, validateOptions } from './solve/options.ts';
export type { OptionSpec, RankOrder, SolverOptionName, SolverOptions } from './solve/options.ts';
export { predict, predictMany } from './solve/predict.ts';
export type { InvertOptions } from './solve/invert.ts';
export type { InvertResult } from './api/invert.ts';
export type { SolveResult, Solution, Status, SolutionSet, SolveStats, ConstraintValue, Explanation, ReachableRange, TargetRelaxation, CounterfactualRecord, DiscreteRecord } from './solve/result.ts';
export type { CounterfactualOptions } from './solve/counterfactual.ts';
export { medianAbsoluteDeviation } from './numeric/mad.ts';
export type { Query, TargetSpec, DistanceKind } from './problem/query.ts';
export { parseWantItem, parseTargetList, parseAnyList, classTargets } from './problem/targets.ts';
export { parseConstraint } from './problem/constraints.ts';
export type { InputConstraint } from './problem/constraints.ts';
export { clauseQueries } from './problem/clauses.ts';
export { checkInputStats, diagonalPrior, statsOfRows, PRIOR_SAMPLE_ROWS } from './problem/prior.ts';
export { certify, certifyParallel } from './api/certify.ts';
export { runProofWorkItem } from './certify/proof/parallel.ts';
export type { ParallelBnbOptions, ProofWorkers, ProofWorkItem, ProofWorkResult } from './certify/proof/parallel.ts';
export type { CertifyOptions, CertifiedResult } from './certify/certify.ts';
export { crownLinearBounds } from './certify/bounds/crown.ts';
export type { CrownLinearOptions } from './certify/bounds/crown.ts';
export { verifyCertificate } from './certify/proof/certificate.ts';
export type { Certificate, CertificateQuery, VerifyResult } from './certify/proof/certificate.ts';
export {
  buildVnnCertificate,
  vnnSpecHash,
  parseVnnCertificate,
  serializeVnnCertificate,
  validateVnnCertificate,
  VNN_CERTIFICATE_FORMAT,
  VNN_MAX_DEPTH,
  VNN_MAX_NODES,
} from './certify/proof/vnnCertificate.ts';
export type { VnnCertificate } from './certify/proof/vnnCertificate.ts';
export { verifyVnnCertificate, vnnRefutedLeaves, newVnnVerifyCarry } from './certify/proof/vnnVerifier.ts';
export type { VnnVerifyResult, VnnVerifyOptions, VnnPathLeaf, VnnVerifyCarry } from './certify/proof/vnnVerifier.ts';
export { briefReport, fullReport, plural } from './report/brief.ts';
export { formatPercent } from './numeric/percent.ts';
export { loadKerasModel } from './formats/keras/load.ts';
export { loadTfjsModel } from './formats/tfjs/load.ts';
export { trainMlp } from './train/train.ts';
export { learnInverse, inverseWarmStart, checkInverse, inverseInfo, INVERSE_DEFAULTS } from './train/inverse.ts';
export type { LearnInverseSpec, LearnInverseReport, InverseInfo } from './train/inverse.ts';
export { readTrainingCsv } from './train/csv.ts';
export { loadOnnxModel, ONNX_SUPPORTED_OPS } from './formats/onnx/load.ts';
export type { OnnxLoadOptions } from './formats/onnx/load.ts';
export { applySidecar, parseSidecar } from './formats/sidecar.ts';
export type { SidecarFile } from './formats/sidecar.ts';
export { parseVnnlib } from './formats/vnnlib/parse.ts';
export type { VnnlibSpec, VnnlibBox, VnnlibLinearConstraint, VnnlibRelation } from './formats/vnnlib/types.ts';
export { loadNnetModel } from './formats/nnet/load.ts';
export { decideVnnlib } from './certify/vnn/decide.ts';
export type { DecideOptions, DecideResult, LeafSink, VnnWitness } from './certify/vnn/decide.ts';
export { decideVnnlibParallel, runVnnWorkItem } from './certify/vnn/parallel.ts';
export type { ParallelDecideOptions, ParallelDecideResult, VnnPart, VnnWorkers, VnnWorkItem, VnnWorkResult, VnnWorkStats } from './certify/vnn/parallel.ts';
export type { NnetLoadOptions } from './formats/nnet/load.ts';
