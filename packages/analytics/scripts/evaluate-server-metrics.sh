#!/bin/sh
# Evaluates the LSTM autoencoder and the statistical baseline on every labelled set in
# ../shared/data/server-metrics (or $DATA), writing one JSON per run to $OUT (default /tmp/sg-eval).
# One run per detector and set; both thresholds (p99 first, then POT) judge the same scores. The
# LSTM model is saved to $OUT/models/<set>. Settings are fixed up front (never tuned on test
# labels); see docs/analytics.md.
set -eu
DATA=${DATA:-/work/shared/data/server-metrics}
OUT=${OUT:-/tmp/sg-eval}
SETS=${SETS:-"machine-1-6 machine-2-1 omi-1 omi-2 omi-3"}
LSTM_ARGS=${LSTM_ARGS:-"--window 30 --units 32 --epochs 30 --batch-size 50 --patience 3 --validation-split 0.2 --max-train-windows 10000"}
BIN="$(dirname "$0")/../../cli/bin/sliceguard.js"
mkdir -p "$OUT/models"
for set in $SETS; do
  d="$DATA/$set"
  common="--train $d/train.csv --test $d/test.csv --labels $d/test_label.csv --json"
  # shellcheck disable=SC2086
  nice -n 10 node "$BIN" eval $common --detector statistical --threshold p99,pot > "$OUT/$set-statistical.json"
  # shellcheck disable=SC2086
  nice -n 10 node "$BIN" eval $common --detector lstm-ae --threshold p99,pot $LSTM_ARGS --save-model "$OUT/models/$set" --verbose > "$OUT/$set-lstm-ae.json" 2> "$OUT/$set-lstm-ae.log"
  echo "$set done $(date -u +%H:%M:%S)"
done
