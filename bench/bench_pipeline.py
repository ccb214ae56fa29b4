"""Benchmark of pipelined partitioning (RESPECT): every solver on ImageNet zoo networks × k.

Prints the per-case table and the headline figures of issue 9 (learned gap to exact, share of
cases within 3 %, solve-time speed-up of learned over exact, throughput vs the compiler
heuristic) and writes CSV / Markdown / PNG to ``out/bench_pipeline/``.

    .venv/bin/python bench/bench_pipeline.py [--quick | --profile]

``--quick`` runs three models with a 10 s exact limit (a smoke run); the full run uses the ten
networks, k = 4, 5, 6 and a 60 s limit per exact solve (about 3 minutes on 2 busy cores).
``--profile`` prints where the learned solver's time goes on the three largest networks
(normaliser DP, static features, encoder, decoder, scoring, refinement DP; the best of 15 runs
of each part, so a busy machine disturbs it less than the median).

Timing (see :func:`scheduler.pipeline.bench.run_bench`): every solver is timed from the same
built problem (a fresh copy per call) to its scored partition, preprocessing included; the fast
solvers report the median of 3 runs, the exact one its single run (proof of optimality and
tie-break, or its time limit). The same figures come from
``mascot pipeline bench --stages 4,5,6 --time-limit 60 -o out/pipeline``.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from mascot.ui import print_frame
from scheduler.pipeline.bench import IMAGENET_TEN, headline, run_bench, summarise, write_outputs


def _best_ms(fn, repeats: int = 15) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1e3


def profile_learned(models: tuple[str, ...] = ("densenet201", "densenet169", "resnet152"),
                    stages: tuple[int, ...] = (4, 5, 6)) -> pd.DataFrame:
    """Milliseconds per part of :func:`~scheduler.pipeline.learned.solve_learned` (default settings)."""
    from scheduler.pipeline.costs import load_graph, problem_from_graph
    from scheduler.pipeline.heuristic import balanced_cuts_in_order, solve_latency_balanced
    from scheduler.pipeline.learned import (
        DEFAULT_SCALES, _default_policy, encode_layers, inference_weights, rollout, solve_learned, static_features,
        warm_up_kernels,
    )
    from scheduler.pipeline.model import evaluate_batch

    policy = _default_policy()
    warm_up_kernels(policy)
    weights = inference_weights(policy)
    rows = []
    for model in models:
        base = problem_from_graph(load_graph(model), "edge_tpu", max(stages))
        for k in stages:
            p = base.with_stages(k)
            t_ref = solve_latency_balanced(p).bottleneck_s
            static = static_features(p, t_ref)
            assigns = rollout(policy, p, samples=15, t_ref=t_ref, scales=DEFAULT_SCALES, weights=weights)
            order = np.lexsort((np.arange(p.n_layers), assigns[0]))
            encoder_ms = _best_ms(lambda: encode_layers(policy, static, weights=weights))
            rollout_ms = _best_ms(lambda: rollout(policy, p, samples=15, t_ref=t_ref, scales=DEFAULT_SCALES,
                                                  weights=weights))
            rows.append({"model": model, "layers": p.n_layers, "stages": k,
                         "normaliser_ms": _best_ms(lambda: solve_latency_balanced(base.with_stages(k))),
                         "features_ms": _best_ms(lambda: static_features(p, t_ref)),
                         "encoder_ms": encoder_ms, "decoder_ms": rollout_ms - encoder_ms,
                         "scoring_ms": _best_ms(lambda: evaluate_batch(p, assigns)),
                         "refine_ms": _best_ms(lambda: balanced_cuts_in_order(p, order)),
                         "total_ms": _best_ms(lambda: solve_learned(base.with_stages(k), policy=policy))})
    return pd.DataFrame(rows)


def main(argv: list[str]) -> int:
    if "--profile" in argv:
        print_frame(profile_learned().round(2), title="learned solver: best-of-15 milliseconds per part")
        return 0
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
