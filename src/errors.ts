/**
 * Every failure caused by bad input is a NetinvertError with a stable `code`.
 * The message names the file, field, node or input involved and says what to do.
 * The CLI prints `error [code]: message` and exits 1; it never shows a stack trace for these.
 */
export type ErrorCode =
  // graph construction
  | 'shape_mismatch'
  | 'unknown_node'
  | 'duplicate_name'
  | 'bad_parameter'
  | 'graph_cycle'
  | 'no_inputs'
  | 'no_outputs'
  | 'unsupported_op'
  // evaluation calls
  | 'bad_argument'
  // model files
  | 'bad_model_file'
  | 'unsupported_format_version'
  | 'non_finite_weight'
  | 'file_too_large'
  // model sidecars (friendly names, scalers, bounds)
  | 'bad_sidecar'
  // queries (solve)
  | 'unknown_input'
  | 'unknown_output'
  | 'bad_query'
  | 'bad_bounds'
  // linear constraints among inputs (--subject-to, Query.constraints): malformed, on an output, or contradictory
  | 'bad_constraint'
  // a prior over the inputs (Query.prior, --prior, --prior-mean/--prior-std, a model's inputStats): wrong width, std ≤ 0, not PSD
  | 'bad_prior'
  // output specs: a target's text (--want, --any, a query file key, a batch cell) does not parse
  | 'bad_target'
  // batch: an answers file started with another model, queries file or options
  | 'resume_mismatch'
  // forward passes by name (predict, netinvert eval)
  | 'missing_input'
  // the command line itself: unknown option or command, missing argument (commander's parse errors)
  | 'bad_usage'
  // VNNLIB property files: malformed text, or a construct outside the supported subset
  | 'vnnlib_syntax'
  | 'vnnlib_unsupported'
  // a VNNLIB property whose X_i / Y_j counts differ from the model's inputs / outputs
  | 'vnnlib_mismatch'
  // certificates (check-certificate, solve --certificate)
  | 'bad_certificate'
  // batch --queue / netinvert worker: the Redis server cannot be reached, or a queued job failed for good
  | 'queue_unreachable'
  | 'queue_job_failed';

export class NetinvertError extends Error {
  readonly code: ErrorCode;
  /** Optional structured detail: which node, field, file or input. */
  readonly detail: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, detail: Record<string, unknown> = {}) {
    super(message);
    this.name = 'NetinvertError';
    this.code = code;
    this.detail = detail;
  }
}

export function isNetinvertError(e: unknown): e is NetinvertError {
  return e instanceof NetinvertError;
}
