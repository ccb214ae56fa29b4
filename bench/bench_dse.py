"""Benchmark of the DSE: a co-design study on one workload set, timed, with its Pareto front.

Prints the wall time, the CPU time of this process and its worker processes, the trial counts, the
Pareto front and relmas6 (the study's first, enqueued trial) against the best designs of equal or
lower area. The issue's figure: ``python bench/bench_dse.py --trials 200 --workers 2`` on the
mixed workload (target ≤ 15 min on 2 cores). ``--trials 20`` gives a quick check.

A rerun with the same ``--root``/``--study`` resumes the study (only the remainder runs), so use a
fresh ``--study`` name to time a whole study.
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--workload", default="mixed")
    ap.add_argument("--qos", default="medium")
    ap.add_argument("--area-budget-mm2", type=float, default=25.0)
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--root", default="/tmp/mascot-bench-dse")
    ap.add_argument("--study", default=f"bench-{int(time.time())}")
    args = ap.parse_args()
    warnings.simplefilter("ignore")

    from dse.export import compare_with_baseline, pareto_frame
    from dse.objective import StudySettings, resolve_backend
    from dse.study import count_trials, load_study, run_study, study_ref
    from mascot.ui import print_frame

    settings = StudySettings(area_budget_mm2=args.area_budget_mm2, workload=args.workload, qos=args.qos,
                             backend=resolve_backend(args.backend))
    ref = study_ref(args.study, root=args.root)
    t0 = time.perf_counter()
    report = run_study(ref, settings, args.trials, workers=args.workers)
    wall = time.perf_counter() - t0
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    study, settings = load_study(ref)
    c = count_trials(study)
    print(f"study {args.study}: {args.workload}/{args.qos}, backend {settings.backend}, area budget {args.area_budget_mm2} mm2")
    print(f"trials: {c.finished} finished ({c.complete} complete, {c.pruned} pruned over budget, {c.failed_reason} failed), "
          f"{c.failed_killed} killed/retried")
    print(f"wall time: {wall:.1f} s with {args.workers} workers; CPU time (all processes): {cpu:.1f} s "
          f"= {cpu / max(args.workers, 1):.1f} s per core")
    front = pareto_frame(study, settings)
    cols = [k for k in ("trial", "sla_satisfaction", "energy_per_inference_mj", "area_mm2", "param_policy",
                        "param_dram_gbps", "param_period_scale", "design") if k in front.columns]
    print_frame(front[cols], title=f"Pareto front ({len(front)} designs)")
    versus = compare_with_baseline(study, settings)
    if not versus.empty:
        print_frame(versus, title="relmas6 vs the best designs at equal or lower area")
    del report


if __name__ == "__main__":
    main()
