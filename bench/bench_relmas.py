"""RELMAS against the baselines (paper Fig. 3 and 5): SLA per scenario, improvements, overheads.

    .venv/bin/python bench/bench_relmas.py --table relmas6.parquet                 # full study
    .venv/bin/python bench/bench_relmas.py --table relmas6.parquet --quick         # 1 seed, short traces
    .venv/bin/python bench/bench_relmas.py --table relmas6.parquet --sweep 32,64,128,256 --sweep-minutes 3
    .venv/bin/python bench/bench_relmas.py --table relmas6.parquet --policies fcfs-h,prema-h,herald \
        --merge-runs out/magma/runs.csv                                          # reuse measured MAGMA runs

Prints (and writes under ``--out``): the SLA satisfaction of RELMAS and each baseline for the nine
scenarios on evaluation traces (seeds 0..n-1, never used in training or validation; ``--seed-space
selection`` uses the traces reserved for choosing which trained policy to ship), the paired
per-trace difference of RELMAS to each baseline with a 95 % interval, the geometric
-mean improvement over Herald and PREMA-H next to the paper's +59.4 % and +109 %, the gap to MAGMA
in points, decision time per period and per SJ, the MACs per LSTM step for h = 32..256 (paper:
316,288 at h = 256) and, with ``--sweep``, a hidden-size sweep (train at each h on the mixed set,
evaluate on the mixed scenarios). Without ``--table`` the script says how to build one and exits.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _evaluate_resumable(table, scenarios, policies, seeds, magma_kw, partial: Path) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Evaluate run by run, appending each finished run to ``partial`` and skipping the runs already
    there, so an interrupted long study (MAGMA at 100 x 100 takes minutes per trace) resumes where it
    stopped instead of starting over."""
    from mascot.io import write_frame
    from scheduler.relmas.evaluate import evaluate

    done = pd.read_csv(partial) if partial.exists() else pd.DataFrame(columns=["scenario", "seed", "policy"])
    have = {(str(r.scenario), int(r.seed), str(r.policy)) for r in done.itertuples()}
    if have:
        print(f"resuming: {len(have)} runs already in {partial}")
    rows = [done]
    for sc in scenarios:
        for seed in seeds:
            todo = [p for p in policies if (sc.name, int(seed), p) not in have]
            if not todo:
                continue
            new = evaluate(table, [sc], todo, [seed], magma_kw=magma_kw,
                           on_run=lambda r: print(f"  {r['scenario']:<14} seed {r['seed']} {r['policy']:<16} SLA "
                                                  f"{r['sla_satisfaction']:.3f} ({r['decision_time_mean_s'] * 1e3:.2f} ms/period)",
                                                  flush=True))
            rows.append(new)
            partial.parent.mkdir(parents=True, exist_ok=True)
            write_frame(pd.concat(rows, ignore_index=True), partial)
    df = pd.concat(rows, ignore_index=True)
    keep = {(sc.name, int(s), p) for sc in scenarios for s in seeds for p in policies}
    mask = [(str(r.scenario), int(r.seed), str(r.policy)) in keep for r in df.itertuples()]
    return df[mask].reset_index(drop=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", type=Path, default=None, help="relmas6 layer table (mascot tables build ...)")
    ap.add_argument("--system", default="relmas6")
    ap.add_argument("--relmas", default="relmas:default", help="RELMAS policy (relmas:PATH or relmas:default)")
    ap.add_argument("--policies", default="fcfs-h,prema-h,herald,magma")
    ap.add_argument("--workloads", default="light,heavy,mixed")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed-space", choices=("evaluation", "selection"), default="evaluation",
                    help="evaluation: seeds 0..n-1 (the reported figures); selection: SELECTION_SEED_BASE + 0..n-1, "
                         "traces for choosing which trained policy to ship, disjoint from training, validation and evaluation")
    ap.add_argument("--magma-budget", default="20x10", help="population x generations (paper: 100x100)")
    ap.add_argument("--duration-scale", type=float, default=1.0, help="scale the study's trace lengths")
    ap.add_argument("--quick", action="store_true", help="1 seed, traces at 1/4 length")
    ap.add_argument("--sweep", default="", help="hidden sizes to train and compare, e.g. 32,64,128,256")
    ap.add_argument("--sweep-steps", type=int, default=100_000, help="DDPG updates per sweep point (cap)")
    ap.add_argument("--sweep-minutes", type=float, default=3.0, help="wall-clock minutes per sweep point")
    ap.add_argument("--merge-runs", type=Path, default=None,
                    help="runs.csv of an earlier run of this script (same table, seeds, durations): its rows for policies "
                         "not run now are added (e.g. a long MAGMA run)")
    ap.add_argument("--out", type=Path, default=Path("out/bench_relmas"))
    ap.add_argument("--resume", action="store_true",
                    help="keep the finished runs in OUT/runs.partial.csv (same table, budget, seeds) and run only the rest")
    args = ap.parse_args(argv)

    from scheduler.relmas.encoding import action_size, feature_size
    from scheduler.relmas.evaluate import PAPER, paired_differences, summarise
    from scheduler.relmas.networks import macs_per_step

    M = 6
    from scheduler.relmas.encoding import EXTRA_FEATURES

    F_ext = feature_size(M) + len(EXTRA_FEATURES)
    macs = pd.DataFrame([{"hidden": h, "features": F, **macs_per_step(F, action_size(M), h)}
                         for F in (feature_size(M), F_ext) for h in (32, 64, 128, 256)])
    print(f"MACs per LSTM step (G = 7 on relmas6; F = 16 the paper's features, F = {F_ext} with our extension; "
          "paper: 316,288 at h = 256, which equals our formula with 20 inputs)")
    print(macs.to_string(index=False))
    if args.table is None:
        print("\nno --table: build one with `mascot tables build -m squeezenet,yolo-lite,kws,alexnet,inceptionv3,resnet50,yolov2 "
              "-s relmas6 -o relmas6.parquet` and pass --table relmas6.parquet")
        return 0

    from mascot.io import atomic_write_json, write_frame
    from scheduler.relmas.scenarios import SELECTION_SEED_BASE, all_scenarios
    from scheduler.table import load_sim_table

    table = load_sim_table(args.table, args.system)
    first = SELECTION_SEED_BASE if args.seed_space == "selection" else 0
    seeds = list(range(first, first + (1 if args.quick else args.seeds)))
    scale = args.duration_scale * (0.25 if args.quick else 1.0)
    wl = args.workloads.split(",")
    scenarios = [s for s in all_scenarios(evaluation=True, duration_scale=scale) if s.workload in wl]
    pop, gen = (int(x) for x in args.magma_budget.lower().split("x"))
    policies = [args.relmas] + [p for p in args.policies.split(",") if p]
    partial = args.out / "runs.partial.csv"
    if partial.exists() and not args.resume:
        partial.unlink()
    t0 = time.perf_counter()
    df = _evaluate_resumable(table, scenarios, policies, seeds, {"population": pop, "generations": gen},
                             partial)
    if args.merge_runs is not None:
        old = pd.read_csv(args.merge_runs)
        old = old[~old["policy"].isin(policies) & old["scenario"].isin(df["scenario"]) & old["seed"].isin(seeds)]
        df = pd.concat([df, old], ignore_index=True)
        print(f"merged {len(old)} runs of {sorted(old['policy'].unique())} from {args.merge_runs}")
    args.out.mkdir(parents=True, exist_ok=True)
    write_frame(df, args.out / "runs.csv")
    s = summarise(df, args.relmas)
    print(f"\nSLA satisfaction, mean over seeds {seeds[0]}..{seeds[-1]} ({args.seed_space} traces), MAGMA {pop}x{gen}:")
    print((s["sla"] * 100).round(1).to_string())
    base = [p for p in ("prema-h", "prema-h-late", "prema-h-reserve", "fcfs-h", "herald", "magma") if p in set(df["policy"]) and p != args.relmas]
    paired = paired_differences(df, args.relmas, base)
    if not paired.empty:
        print(f"\n{args.relmas} minus baseline, paired by trace (points; 95 % t-interval over {len(seeds)} traces; wins/ties/losses):")
        show = paired.copy()
        show["interval"] = [f"[{lo:+.1f}, {hi:+.1f}]" for lo, hi in zip(show["ci_low"], show["ci_high"])]
        show["w/t/l"] = [f"{a}/{b}/{c}" for a, b, c in zip(show["wins"], show["ties"], show["losses"])]
        print(show[["workload", "qos", "baseline", "diff_points", "interval", "w/t/l"]].round(1).to_string(index=False))
        write_frame(paired, args.out / "paired.csv")
    print("\ndecision time (mean over runs):")
    dt = s["decision"].copy()
    dt["ms_per_period"] = dt["decision_time_mean_s"] * 1e3
    dt["us_per_sj"] = dt["decision_time_per_sj_s"] * 1e6
    print(dt[["ms_per_period", "us_per_sj"]].round(2).to_string())
    head = s["headline"]
    print("\nheadline:")
    for k, v in head.items():
        paper = PAPER.get(k)
        print(f"  {k}: {v if not isinstance(v, float) else round(v, 1)}" + (f"   (paper: {paper})" if paper is not None else ""))
    print(f"  (geometric means floor SLAs at 1 %; {time.perf_counter() - t0:.0f} s)")
    write_frame(s["sla"].reset_index(), args.out / "sla.csv")
    atomic_write_json(args.out / "headline.json", {**head, "paper": PAPER, "magma_budget": [pop, gen], "seeds": seeds,
                                                    "duration_scale": scale, "macs": macs.to_dict("records")})
    timing = decision_timing(table, (32, 64, 128, 256), max(scale, 0.2))
    print("\nRELMAS decision time by hidden size (untrained weights: the cost depends on the shapes only), mixed/medium seed 0:")
    print(timing.round(3).to_string(index=False))
    write_frame(timing, args.out / "decision_timing.csv")
    if args.sweep:
        sweep = hidden_sweep(table, [int(h) for h in args.sweep.split(",")], args.sweep_steps, args.sweep_minutes, seeds, scale, args.out)
        print("\nhidden-size sweep (mixed set):")
        print(sweep.round(4).to_string(index=False))
    return 0


def decision_timing(table, hiddens, scale: float) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Decision time per period and per SJ of a RELMAS actor of each hidden size on one trace.

    The shipped configuration (residual over PREMA-H, extended features): the time includes the
    base heuristic and the encoding, not only the network."""
    import torch

    from scheduler.relmas.codec import ResidualSpec
    from scheduler.relmas.encoding import Encoder, action_size
    from scheduler.relmas.networks import Actor, macs_per_step
    from scheduler.relmas.policy import RelmasPolicy
    from scheduler.relmas.scenarios import all_scenarios
    from scheduler.sim import Simulator

    sc = next(s for s in all_scenarios(evaluation=True, duration_scale=scale) if s.name == "mixed/medium")
    trace = sc.trace(0)
    rows = []
    M = table.n_sa
    for h in hiddens:
        torch.manual_seed(0)
        enc = Encoder(tuple(table.models), M, sc.period_s, features="extended")
        pol = RelmasPolicy(Actor(enc.n_features, action_size(M), h), enc, max_rq=64, mode="residual", residual=ResidualSpec())
        res = Simulator(table, trace, pol, sc.period_s).run()
        s = res.summary
        rows.append({"hidden": h, "macs_per_step": macs_per_step(enc.n_features, action_size(M), h)["total"],
                     "ms_per_period": s["decision_time_mean_s"] * 1e3,
                     "us_per_sj": s["decision_time_total_s"] / max(pol.decision_rows, 1) * 1e6})
    return pd.DataFrame(rows)


def hidden_sweep(table, hiddens: list[int], steps: int, minutes: float, seeds: list[int], scale: float, out: Path) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Train at each hidden size on the mixed set (same wall budget, the shipped recipe), evaluate on the mixed scenarios."""
    from mascot.io import write_frame
    from scheduler.relmas.evaluate import evaluate
    from scheduler.relmas.networks import macs_per_step
    from scheduler.relmas.scenarios import all_scenarios, scenario
    from scheduler.relmas.train import Trainer, config_from

    rows = []
    scen = [s for s in all_scenarios(evaluation=True, duration_scale=scale) if s.workload == "mixed"]
    for h in hiddens:
        path = out / f"sweep-h{h}.pt"
        cfg = config_from(steps=steps, hidden=h, mode="residual", features="extended", eval_qos="all", eval_traces=1,
                          eval_every=150, checkpoint_every=max(steps, 1), critic_warmup=100, noise_std=0.1, noise_std_final=0.03,
                          noise_decay_updates=3000, sa_bonus=0.4, updates_per_step=0.15, select_margin=0.003,
                          max_wall_s=minutes * 60.0)
        t0 = time.perf_counter()
        res = Trainer(table, scenario("mixed", "medium"), cfg, output=path).run()
        train_s = time.perf_counter() - t0
        df = evaluate(table, scen, [f"relmas:{path}"], seeds)
        rows.append({"hidden": h, "macs_per_step": macs_per_step(21, 7, h)["total"], "train_s": train_s, "updates": res.updates,
                     "best_val_sla": res.best_val_sla,
                     "sla_mean": df["sla_satisfaction"].mean(), "decision_ms_per_period": df["decision_time_mean_s"].mean() * 1e3,
                     "decision_us_per_sj": df["decision_time_per_sj_s"].mean() * 1e6})
    sweep = pd.DataFrame(rows)
    write_frame(sweep, out / "hidden_sweep.csv")
    return sweep


if __name__ == "__main__":
    raise SystemExit(main())
