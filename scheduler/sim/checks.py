"""Invariant checks on a finished simulation (used by the tests and ``mascot simulate --check``).

Each check returns human-readable violations (an empty list means the invariant holds):
one SJ per SA at a time, precedence, DRAM bandwidth never above capacity, every job counted
exactly once, no SJ faster than its table latency, hits really finished by their deadline.
"""

from __future__ import annotations

import numpy as np

from scheduler.sim.metrics import SimResult
from scheduler.table import SimTable

_TOL_S = 1e-12


def check_invariants(result: SimResult, table: SimTable) -> list[str]:
    out: list[str] = []
    sch = result.schedule
    # one SJ per SA at a time
    for sa, grp in sch.groupby("sa"):
        g = grp.sort_values("start_s")
        gap = g["start_s"].to_numpy()[1:] - g["end_s"].to_numpy()[:-1]
        if (gap < -_TOL_S).any():
            out.append(f"SA {sa} runs two SJs at once ({int((gap < -_TOL_S).sum())} overlaps)")
    # precedence
    end_of = dict(zip(sch["sj"].tolist(), sch["end_s"].tolist()))
    jobs = result.jobs
    base_of = {}
    for sj, job_id, li, model, start in zip(sch["sj"], sch["job_id"], sch["layer_index"], sch["model"], sch["start_s"]):
        base = sj - li
        k = table.models.index(model)
        g = int(table.layer_base[k] + li)
        for q in table.preds_local[g]:
            pe = end_of.get(int(base + q))
            if pe is None:
                out.append(f"job {job_id} layer {li} ran but its predecessor {q} never finished")
            elif pe > start + _TOL_S:
                out.append(f"job {job_id} layer {li} started at {start} before predecessor {q} ended at {pe}")
        base_of[job_id] = base
    # durations never below the table latency
    short = sch["end_s"] - sch["start_s"] < sch["latency_s"] * (1 - 1e-9) - _TOL_S
    if short.any():
        out.append(f"{int(short.sum())} SJs ran faster than their table latency")
    # bandwidth
    if len(result.dram):
        cap = float(result.summary["dram_gbps"])
        over = result.dram["effective_gbps"] > cap * (1 + 1e-9)
        if over.any():
            out.append(f"DRAM bandwidth above capacity in {int(over.sum())} intervals")
    # each job counted exactly once
    counted = int(jobs["hit"].sum() + jobs["late"].sum() + jobs["dropped"].sum())
    if counted != len(jobs) or ((jobs["hit"].astype(int) + jobs["late"].astype(int) + jobs["dropped"].astype(int)) != 1).any():
        out.append(f"jobs counted {counted} times for {len(jobs)} jobs")
    s = result.summary
    if s["hits"] + s["late"] + s["dropped"] != s["jobs"]:
        out.append("summary counts do not add up to the number of jobs")
    # hits finished by their deadline, with all their layers
    hits = jobs[jobs["hit"]]
    if (hits["finish_s"] > hits["deadline_s"] + _TOL_S).any():
        out.append("a job counted as a hit finished after its deadline")
    runs = sch.groupby("job_id").size()
    nl = {m: table.n_layers(i) for i, m in enumerate(table.models)}
    for job_id, model in zip(hits["job_id"], hits["model"]):
        if int(runs.get(job_id, 0)) != nl[model]:
            out.append(f"hit job {job_id} did not run all its layers")
    if len(sch) and not np.isfinite(sch[["start_s", "end_s"]].to_numpy()).all():
        out.append("schedule has non-finite times")
    return out
