#!/usr/bin/env bash
# `make demo`: the main end-to-end job on the bundled defaults (a few minutes on 2 cores).
# Every step is one CLI command a user can run alone; outputs land in $DEMO_OUT (default demo_out/).
set -euo pipefail
cd "$(dirname "$0")/.."
M=.venv/bin/mascot
OUT=${DEMO_OUT:-demo_out}
mkdir -p "$OUT"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. the model zoo, and one network as a layer graph"
$M models list
$M models show resnet50

step "2. the heterogeneous multi-accelerator system of the RELMAS paper"
$M specs show relmas6
$M specs show eyeriss_small

step "3. per-layer latency / energy / DRAM-bandwidth table: the paper's 7 networks x 4 SA classes"
$M tables build --models squeezenet,yolo-lite,kws,alexnet,inceptionv3,resnet50,yolov2 --system relmas6 \
    -o "$OUT/relmas6.parquet"

step "4. a multi-tenant request trace (mixed workload, mixed QoS levels)"
$M workload generate --set mixed --qos mixed --duration-ms 300 --mean-interarrival-ms 10 --seed 0 -o "$OUT/trace.parquet"
$M workload show "$OUT/trace.parquet"

step "5. one simulation under Herald (schedule, Gantt chart in $OUT/run)"
$M simulate --table "$OUT/relmas6.parquet" --system relmas6 --trace "$OUT/trace.parquet" --policy herald -o "$OUT/run"

step "6. the paper's study, small: SLA satisfaction per policy and scenario (CSV, Markdown, bar chart in $OUT/study)"
$M compare --table "$OUT/relmas6.parquet" --system relmas6 --workloads light,mixed --qos medium,high \
    --policies ${DEMO_POLICIES:-fcfs-h,prema-h,herald,magma,relmas:default} --seeds 1 --duration-scale 0.5 -o "$OUT/study"

step "7. the learned surrogate as a cost backend"
$M surrogate info default
$M tables build --models squeezenet,kws --system relmas6 --backend surrogate:default -o "$OUT/surrogate_table.parquet"

step "8. pipelined partitioning of ResNet-50 over 4 Edge TPUs"
$M pipeline solve --model resnet50 --stages 4 --solver heuristic
$M pipeline solve --model resnet50 --stages 4 --solver learned

step "9. a small hardware/schedule co-design study"
$M dse run --study demo --root "$OUT/dse" --workload light --qos medium --trials ${DEMO_DSE_TRIALS:-12} \
    --area-budget-mm2 25 --max-count 2 --workers 2
$M dse show demo --root "$OUT/dse"
$M dse export demo --root "$OUT/dse" --trial 0 -o "$OUT/dse/found.yaml"

printf '\nAll outputs are in %s/\n' "$OUT"
