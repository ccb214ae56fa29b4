"""``mascot simulate`` and ``mascot compare``: one simulation, and the paper's study.

Each command is one call of :mod:`scheduler.sim` / :mod:`scheduler.experiments`; heavy modules
are imported inside the commands so that ``mascot --help`` stays fast.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from mascot.cli_lists import split_list
from mascot.errors import MascotError


def register(app: typer.Typer) -> None:
    app.command("simulate", help="Simulate a request trace on a MAS under one scheduling policy.")(simulate)
    app.command("compare", help="The RELMAS study: workload sets × QoS levels × policies (+ DRAM sweep).")(compare)


def _floats(text: str, option: str) -> list[float]:
    out = []
    for item in split_list(text, option):
        try:
            v = float(item)
        except ValueError:
            raise MascotError(f"{option} entry {item!r} is not a number") from None
        if not (math.isfinite(v) and v > 0):
            raise MascotError(f"{option} entries must be positive, got {item!r}")
        out.append(v)
    return out


def _budget(text: str) -> tuple[int, int]:
    try:
        p, g = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise MascotError(f"--magma-budget {text!r} is not POPxGEN", hint="e.g. --magma-budget 100x100") from None
    if p < 2 or g < 1:
        raise MascotError("--magma-budget needs a population >= 2 and >= 1 generation")
    return p, g


def _period(period_ms: float) -> float:
    if not (math.isfinite(period_ms) and period_ms > 0):
        raise MascotError(f"--period-ms must be positive, got {period_ms}")
    return period_ms * 1e-3


def simulate(
    table: Annotated[Path, typer.Option("--table", "-t", help="Layer table (.parquet/.csv) from `mascot tables build`.")],
    trace: Annotated[Path, typer.Option("--trace", help="Request trace from `mascot workload generate`.")],
    system: Annotated[str, typer.Option("--system", "-s", help="System name (arch_specs/systems) or YAML path.")] = "relmas6",
    policy: Annotated[str, typer.Option("--policy", "-p", help="fcfs-h, prema-h, herald, magma, random (or prefix:ARG, e.g. relmas:PATH).")] = "fcfs-h",
    period_ms: Annotated[float, typer.Option("--period-ms", help="Scheduling period Ts in milliseconds.")] = 0.1,
    dram_gbps: Annotated[float | None, typer.Option("--dram-gbps", help="Override the system's DRAM bandwidth (GB/s).")] = None,
    magma_budget: Annotated[str, typer.Option("--magma-budget", help="MAGMA population x generations.")] = "100x100",
    seed: Annotated[int, typer.Option("--seed", help="Seed of stochastic policies.")] = 0,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Folder for summary.json, schedule.parquet, jobs.parquet, gantt.png.")] = None,
    check: Annotated[bool, typer.Option("--check", help="Also verify the simulator's invariants on this run.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary metrics as one JSON object.")] = False,
) -> None:
    from mascot.io import atomic_write_json, write_frame
    from mascot.ui import console, print_frame, print_json
    from scheduler.policies import get_policy
    from scheduler.sim import Simulator
    from scheduler.table import load_sim_table
    from workloads.traces import load_trace

    sim_table = load_sim_table(table, system, dram_gbps=dram_gbps)
    tr = load_trace(trace)
    kw = {}
    if policy.lower() == "magma":
        kw = dict(zip(("population", "generations"), _budget(magma_budget)))
    pol = get_policy(policy, **kw)
    sim = Simulator(sim_table, tr.frame, pol, _period(period_ms), seed=seed, record_dram=check, trace_source=str(trace))
    res = sim.run()
    if check:
        from scheduler.sim.checks import check_invariants

        bad = check_invariants(res, sim_table)
        if bad:
            raise MascotError("simulator invariants violated: " + "; ".join(bad[:5]))
        res.summary["invariants_checked"] = True
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        atomic_write_json(output / "summary.json", res.summary)
        write_frame(res.schedule, output / "schedule.parquet")
        write_frame(res.jobs, output / "jobs.parquet")
        write_frame(res.per_model, output / "per_model.csv")
        from scheduler.sim.gantt import plot_gantt

        plot_gantt(res, output / "gantt.png")
    if as_json:
        print_json(res.summary)
        return
    s = res.summary
    import pandas as pd

    head = pd.DataFrame(
        [
            ("policy", s["policy"]),
            ("jobs (hit / late / dropped)", f"{s['jobs']} ({s['hits']} / {s['late']} / {s['dropped']})"),
            ("SLA satisfaction", f"{s['sla_satisfaction'] * 100:.1f} %"),
            ("latency p50 / p95 (ms)", f"{s['latency_p50_s'] * 1e3:.3f} / {s['latency_p95_s'] * 1e3:.3f}"),
            ("energy per inference (mJ)", f"{s['energy_per_inference_j'] * 1e3:.3f}"),
            ("SA utilisation (mean)", f"{s['sa_utilization_mean'] * 100:.1f} %"),
            ("DRAM utilisation", f"{s['dram_utilization'] * 100:.1f} %"),
            ("decision time per period (ms)", f"{s['decision_time_mean_s'] * 1e3:.3f}"),
        ],
        columns=["metric", "value"],
    )
    print_frame(head, title=f"{Path(trace).name} on {s['system']}")
    print_frame(res.per_model, title="per model")
    print_frame(res.per_qos, title="per QoS level")
    if output is not None:
        console.print(f"wrote {output}/summary.json, schedule.parquet, jobs.parquet, per_model.csv, gantt.png")


def compare(
    table: Annotated[Path, typer.Option("--table", "-t", help="Layer table with every model of the workload sets.")],
    system: Annotated[str, typer.Option("--system", "-s", help="System name or YAML path.")] = "relmas6",
    workloads: Annotated[str, typer.Option("--workloads", help="Workload sets (light, heavy, mixed) or model lists joined by '+'.")] = "light,heavy,mixed",
    qos: Annotated[str, typer.Option("--qos", help="QoS levels: low, medium, high.")] = "low,medium,high",
    policies: Annotated[str, typer.Option("--policies", help="Policies to compare.")] = "fcfs-h,prema-h,herald,magma",
    seeds: Annotated[int, typer.Option("--seeds", help="Traces per scenario (seeds 0..N-1).")] = 3,
    period_ms: Annotated[float, typer.Option("--period-ms", help="Scheduling period Ts in milliseconds.")] = 0.1,
    qos_factor: Annotated[float | None, typer.Option("--qos-factor", help="Medium QoS factor (default 3.0).")] = None,
    interarrival_ms: Annotated[str | None, typer.Option("--interarrival-ms", help="Mean inter-arrival (ms) per workload, e.g. light=1,heavy=20,mixed=10, or one number for all.")] = None,
    duration_scale: Annotated[float, typer.Option("--duration-scale", help="Scale the default trace durations (light 0.125 s, heavy 1 s, mixed 0.5 s).")] = 1.0,
    magma_budget: Annotated[str, typer.Option("--magma-budget", help="MAGMA population x generations in the study.")] = "10x5",
    dram_gbps: Annotated[str | None, typer.Option("--dram-gbps", help="Bandwidth sweep (Fig. 4) on the first workload at medium QoS, e.g. 4,8,12,16.")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for results.csv, summary.md, sla.png (and sweep.csv, sweep.png).")] = Path("results"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the mean SLA table as JSON.")] = False,
) -> None:
    from dataclasses import replace

    from mascot.io import atomic_write_text, write_frame
    from mascot.ui import console, print_frame, print_json, progress
    from scheduler import experiments as ex
    from scheduler.policies import get_policy
    from scheduler.table import load_sim_table

    wl = split_list(workloads, "--workloads")
    q = split_list(qos, "--qos")
    bad_q = [x for x in q if x not in ex.QOS_ORDER]
    if bad_q:
        raise MascotError(f"--qos: unknown levels {bad_q}", hint="use low, medium, high")
    pols = split_list(policies, "--policies")
    for p in pols:
        get_policy(p)  # fail early on unknown names
    if seeds < 1:
        raise MascotError("--seeds must be >= 1")
    cfg = ex.StudyConfig(
        workloads=tuple(wl), qos=tuple(q), policies=tuple(pols), seeds=seeds, period_s=_period(period_ms),
        magma_budget=_budget(magma_budget), duration_scale=duration_scale,
    )
    if qos_factor is not None:
        cfg = replace(cfg, medium_qos_factor=_floats(str(qos_factor), "--qos-factor")[0])
    if interarrival_ms:
        rates = dict(cfg.mean_interarrival_s)
        for item in split_list(interarrival_ms, "--interarrival-ms"):
            name, eq, val = item.partition("=")
            if not eq:  # a bare number applies to every workload
                for w in wl:
                    rates[w] = _floats(name, "--interarrival-ms")[0] * 1e-3
                continue
            rates[name.strip()] = _floats(val, "--interarrival-ms")[0] * 1e-3
        cfg = replace(cfg, mean_interarrival_s=rates)
    unknown = [w for w in wl if w not in cfg.mean_interarrival_s]
    if unknown:
        raise MascotError(f"--workloads: no arrival rate for {unknown}", hint="use light, heavy, mixed or give --interarrival-ms NAME=MS")
    sim_table = load_sim_table(table, system)
    n_runs = len(wl) * len(q) * seeds * len(pols)
    sweep_vals = _floats(dram_gbps, "--dram-gbps") if dram_gbps else []
    with progress() as bar:
        task = bar.add_task("study", total=n_runs + len(sweep_vals) * seeds * len(pols), status="")

        def tick(row: dict) -> None:
            bar.update(task, advance=1, status=f"{row['workload']}/{row['qos']}/{row['policy']}: {row['sla_satisfaction'] * 100:.0f}%")

        df = ex.run_study(sim_table, cfg, on_run=tick)
        sweep = None
        if sweep_vals:
            scfg = replace(cfg, workloads=(wl[0],), qos=("medium",))
            sweep = ex.run_study(sim_table, scfg, dram_gbps=sweep_vals, on_run=tick)
    output.mkdir(parents=True, exist_ok=True)
    write_frame(df, output / "results.csv")
    atomic_write_text(output / "summary.md", ex.markdown_summary(df, cfg, sweep))
    ex.plot_sla_bars(df, output / "sla.png")
    if sweep is not None:
        write_frame(sweep, output / "sweep.csv")
        ex.plot_sweep(sweep, output / "sweep.png")
    tab = ex.sla_table(df)
    if as_json:
        print_json({"sla_satisfaction": tab.to_dict(orient="records"), "output": str(output)})
        return
    print_frame(tab, title="SLA satisfaction (mean over seeds)")
    if sweep is not None:
        print_frame(ex.normalised_sweep(sweep), title=f"{wl[0]} / medium QoS: SLA normalised to each policy's best")
    console.print(f"wrote {output}/results.csv, summary.md, sla.png" + (", sweep.csv, sweep.png" if sweep is not None else ""))
