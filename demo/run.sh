#!/usr/bin/env bash
# Runs every demo/NN-*.sh in order on the shipped corpora; outputs go to demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEMO_OUT="${DEMO_OUT:-demo-out}"
mkdir -p "$DEMO_OUT"
for script in demo/[0-9][0-9]-*.sh; do
  echo "=== $script" >&2
  bash "$script"
done
echo "demo finished; artefacts are in $DEMO_OUT/" >&2
