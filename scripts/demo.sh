#!/usr/bin/env bash
# The main end-to-end job on the bundled defaults; grows with every package.
set -euo pipefail
cd "$(dirname "$0")/.."
M=.venv/bin/mascot
OUT=${DEMO_OUT:-demo_out}
mkdir -p "$OUT"
echo "== 1. the model zoo"
$M models list
echo "== 2. a multi-tenant request trace (mixed workload, medium QoS)"
$M workload generate --set mixed --qos medium --duration-ms 200 --mean-interarrival-ms 2 --seed 0 -o "$OUT/trace.parquet"
$M workload show "$OUT/trace.parquet"
