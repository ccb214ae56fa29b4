"""Benchmark of pipelined partitioning (RESPECT): every solver on ImageNet zoo networks × k.

Prints the per-case table and the headline figures of issue 9 (learned gap to exact, share of
cases within 3 %, solve-time speed-up of learned over exact, throughput vs the compiler
heuristic) and writes CSV / Markdown / PNG to ``out/bench_pipeline/``.

    .venv/bin/python bench/bench_pipeline.py [--quick]

``--quick`` runs three models with a 10 s exact limit (a smoke run); the full run uses the ten
networks, k = 4, 5, 6 and a 60 s limit per exact solve (about 3 minutes on 2 busy cores).

Timing (see :func:`scheduler.pipeline.bench.run_bench`): every solver is timed from the same
built problem (a fresh copy per call) to its scored partition, preprocessing included; the fast
solvers report the median of 3 runs, the exact one its single run (proof of optimality and
tie-break, or its time limit). The same figures come from
``mascot pipeline bench --stages 4,5,6 --time-limit 60 -o out/pipeline``.
"""

from __future__ import annotations

import sys

import pandas as pd

from mascot.ui import print_frame
from scheduler.pipeline.bench import IMAGENET_TEN, headline, run_bench, summarise, write_outputs


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    models = ["resnet50", "inceptionv3", "mobilenetv2"] if quick else list(IMAGENET_TEN)
    results = run_bench(models, [4, 5, 6], time_limit_s=10.0 if quick else 60.0)
    write_outputs(results, "out/bench_pipeline")
    summary = summarise(results)
    print_frame(summary, title="pipeline partitioning (edge_tpu)")
    print_frame(pd.DataFrame([headline(summary)]), title="headline")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
