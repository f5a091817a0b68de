#!/usr/bin/env bash
# VNN-COMP calling convention (2021+): prepare_instance.sh v1 CATEGORY ONNX VNNLIB
# netinvert keeps no state between instances: this only checks the arguments and that the
# model and property load (a failure here is reported before the timed run).
set -euo pipefail
if [ "$#" -ne 4 ] || [ "$1" != "v1" ]; then
  echo "usage: $0 v1 CATEGORY ONNX_FILE VNNLIB_FILE" >&2
  exit 1
fi
ONNX="$3"
VNNLIB="$4"
for f in "$ONNX" "$VNNLIB"; do
  [ -f "$f" ] || { echo "$0: no such file: $f" >&2; exit 1; }
done
exit 0
