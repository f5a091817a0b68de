#!/usr/bin/env bash
# VNN-COMP calling convention (2021+): run_instance.sh v1 CATEGORY ONNX VNNLIB RESULTS_FILE TIMEOUT
# Writes RESULTS_FILE: "sat" with the counterexample ((X_0 v) … (Y_0 v) …), "unsat", or
# "unknown"/"timeout"; an error writes "error".
set -uo pipefail
if [ "$#" -ne 6 ] || [ "$1" != "v1" ]; then
  echo "usage: $0 v1 CATEGORY ONNX_FILE VNNLIB_FILE RESULTS_FILE TIMEOUT" >&2
  exit 1
fi
ONNX="$3"
VNNLIB="$4"
RESULTS="$5"
TIMEOUT="$6"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# leave a few seconds of the budget for start-up and writing the file
BUDGET=$(awk -v t="$TIMEOUT" 'BEGIN { b = t - 3; if (b < 1) b = t * 0.8; print b }')
rm -f "$RESULTS"
cd "$ROOT"
node --import tsx "$ROOT/src/cli/main.ts" verify "$ONNX" "$VNNLIB" --timeout "$BUDGET" --results "$RESULTS"
rc=$?
if [ ! -s "$RESULTS" ]; then
  if [ "$rc" -eq 1 ]; then echo "error" > "$RESULTS"; else echo "timeout" > "$RESULTS"; fi
fi
exit 0
