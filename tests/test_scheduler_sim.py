"""Simulator semantics on hand-made tables with literal numbers (hand-checked results)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mascot.errors import MascotError
from scheduler.policies import get_policy
from scheduler.sim import Simulator, simulate
from scheduler.sim.checks import check_invariants
from scheduler.sim.synthetic import layer_rows, literal_platform
from scheduler.table import SimTable


def _trace(rows):
    return pd.DataFrame(rows, columns=["job_id", "arrival_s", "model", "qos", "qos_factor"])


def chain_table():
    # 2-layer chain: layer 0 fast on class a, layer 1 fast on class b; no DRAM traffic
    df = pd.DataFrame(
        layer_rows("chain", [[], [0]], [[1e-4, 2e-4], [3e-4, 1e-4]], [[0, 0], [0, 0]], [[10.0, 20.0], [30.0, 40.0]], ("a", "b"))
    )
    return SimTable.from_frame(df, literal_platform(("a", "b"), static_power_w=0.5))


def single_table(classes=("a", "a"), bw=12.0):
    df = pd.DataFrame(layer_rows("x", [[]], [[1e-4]], [[bw]], [[100.0]], ("a",)))
    return SimTable.from_frame(df, literal_platform(classes, dram_gbps=16.0, static_power_w=0.0))


def test_isolated_latency_is_the_critical_path_on_fastest_sas():
    # diamond 0 -> (1, 2) -> 3: critical path 0, 2, 3 with the fastest SA per layer
    lat = [[1e-4, 2e-4], [5e-5, 1e-4], [4e-4, 3e-4], [1e-4, 1e-4]]
    df = pd.DataFrame(layer_rows("d", [[], [0], [0], [1, 2]], lat, [[0, 0]] * 4, [[1, 1]] * 4, ("a", "b")))
    t = SimTable.from_frame(df, literal_platform(("a", "b")))
    assert t.isolated_s[0] == pytest.approx(1e-4 + 3e-4 + 1e-4)
    assert t.succs_local[0] == (1, 2)


def test_chain_alone_meets_deadline_on_the_heuristic_sas():
    t = chain_table()
    res = simulate(t, _trace([[0, 0.0, "chain", "medium", 2.0]]), "fcfs-h", period_s=1e-3)
    sch = res.schedule
    assert sch["sa_name"].tolist() == ["a0", "b0"]
    assert sch["end_s"].tolist() == pytest.approx([1e-4, 2e-4])
    assert res.summary["sla_satisfaction"] == 1.0
    assert res.jobs["deadline_s"].iloc[0] == pytest.approx(4e-4)
    assert res.summary["latency_p50_s"] == pytest.approx(2e-4)
    # energy = dynamic (10 pJ + 40 pJ) + static 2 × 0.5 W × 2e-4 s
    assert res.summary["dynamic_energy_j"] == pytest.approx(50e-12)
    assert res.summary["static_energy_j"] == pytest.approx(2 * 0.5 * 2e-4)


def test_dram_contention_slows_every_running_sj_equally():
    t = single_table(("a", "a"), bw=12.0)
    tr = _trace([[0, 0.0, "x", "medium", 5.0], [1, 0.0, "x", "medium", 5.0]])
    res = simulate(t, tr, "fcfs-h", period_s=1e-3, record_dram=True)
    # demand 24 GB/s on 16 GB/s: both progress at 2/3 speed -> 1.5e-4 s each, 0.5e-4 s stall
    assert res.schedule["end_s"].tolist() == pytest.approx([1.5e-4, 1.5e-4])
    assert res.schedule["stall_s"].tolist() == pytest.approx([0.5e-4, 0.5e-4])
    assert res.dram["effective_gbps"].max() == pytest.approx(16.0)
    assert res.summary["dram_utilization"] == pytest.approx(1.0)
    assert check_invariants(res, t) == []


def test_no_contention_below_capacity():
    t = single_table(("a", "a"), bw=8.0)
    tr = _trace([[0, 0.0, "x", "medium", 5.0], [1, 0.0, "x", "medium", 5.0]])
    res = simulate(t, tr, "fcfs-h", period_s=1e-3)
    assert res.schedule["end_s"].tolist() == pytest.approx([1e-4, 1e-4])
    assert res.summary["stall_s_total"] == pytest.approx(0.0, abs=1e-15)


def test_deadline_miss_drops_the_job_and_late_completion_counts_as_miss():
    t = single_table(("a",), bw=0.0)
    tr = _trace(
        [
            [0, 0.0, "x", "medium", 1.5],  # runs 0..1e-4: hit
            [1, 0.0, "x", "high", 1.2],  # deadline 1.2e-4: starts at 1e-4, ends 2e-4: late
            [2, 0.0, "x", "high", 0.9],  # deadline 0.9e-4 < 1e-4 would-be start: dropped
        ]
    )

    class ByJob:  # an explicit order: job 0, 1, 2 all on SA 0
        name = "by-job"

        def schedule(self, view):
            from scheduler.sim import Decision

            return Decision(sa=np.zeros(view.n_rq, dtype=np.int64), priority=-view.rq_job.astype(float))

    res = Simulator(t, tr, ByJob(), period_s=1e-3).run()
    assert res.jobs["status"].tolist() == ["hit", "late", "dropped"]
    assert res.summary["sla_satisfaction"] == pytest.approx(1 / 3)
    assert res.summary["sj_run"] == 2


def test_arrivals_wait_for_the_next_period_and_residual_rq_carries_over():
    t = single_table(("a",), bw=0.0)
    tr = _trace([[0, 0.5e-4, "x", "medium", 10.0], [1, 0.5e-4, "x", "medium", 10.0]])
    res = simulate(t, tr, "fcfs-h", period_s=1e-4)
    # admitted at the 1e-4 boundary; the second SJ could not start in that period (SA busy until
    # 2e-4), stayed in the residual RQ and started at the next period's start
    assert res.schedule["start_s"].tolist() == pytest.approx([1e-4, 2e-4])
    assert res.summary["sla_satisfaction"] == 1.0


def test_missing_model_and_wrong_system_are_user_errors():
    t = chain_table()
    with pytest.raises(MascotError, match="nosuchnet"):
        simulate(t, _trace([[0, 0.0, "nosuchnet", "medium", 2.0]]), "fcfs-h", period_s=1e-3)
    df = pd.DataFrame(layer_rows("x", [[]], [[1e-4]], [[1.0]], [[1.0]], ("a",)))
    with pytest.raises(MascotError, match="built for system 'other'"):
        SimTable.from_frame(df, literal_platform(("a",)), table_system="other")
    with pytest.raises(MascotError, match="no rows for SA classes"):
        SimTable.from_frame(df, literal_platform(("a", "zz")))
    bad = pd.DataFrame(layer_rows("x", [[], [1]], [[1e-4], [1e-4]], [[1.0], [1.0]], [[1.0], [1.0]], ("a",)))
    with pytest.raises(MascotError, match="topological"):
        SimTable.from_frame(bad, literal_platform(("a",)))
    with pytest.raises(MascotError, match="unknown policy"):
        get_policy("nope")


def test_forecast_runs_the_period_on_a_clone():
    t = chain_table()
    tr = _trace([[0, 0.0, "chain", "medium", 2.0], [1, 0.0, "chain", "medium", 2.0]])
    seen = {}

    class Probe:
        name = "probe"

        def __init__(self):
            self.inner = get_policy("fcfs-h")

        def schedule(self, view):
            d = self.inner.schedule(view)
            if "f" not in seen:
                seen["f"] = view.forecast(d)
                seen["state"] = view.sj_state.copy()
            return d

    res = Simulator(t, tr, Probe(), period_s=1e-3).run()
    end = res.schedule.set_index("sj")["end_s"]
    f = seen["f"]
    # one period covers the whole run here, so the forecast equals the real outcome
    assert f.rq_end_s == pytest.approx(end.loc[[0, 1, 2, 3]].to_numpy())
    assert (seen["state"] == 0).all()  # the clone did not touch the real state


def test_fused_fcfs_loop_and_idle_skipping_match_period_by_period_stepping():
    from scheduler.sim.synthetic import random_table, random_trace

    rng = np.random.default_rng(42)
    t = SimTable.from_frame(random_table(rng, n_models=4, max_layers=10), literal_platform(("a", "b", "b"), dram_gbps=6.0))
    tr = random_trace(rng, t.models, n_jobs=60, mean_gap_s=6e-5, qos_factor=3.0)
    ref = Simulator(t, tr, get_policy("fcfs-h"), 5e-5, fused=False, skip_idle=False).run()
    for fused in (False, True):
        sim = Simulator(t, tr, get_policy("fcfs-h"), 5e-5, fused=fused)
        res = sim.run()
        assert sim.fused_run is fused
        pd.testing.assert_frame_equal(res.schedule, ref.schedule)
        pd.testing.assert_frame_equal(res.jobs, ref.jobs)
        assert res.summary["energy_j"] == pytest.approx(ref.summary["energy_j"], rel=1e-12)
        assert res.summary["periods"] <= ref.summary["periods"]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("period_s", [1e-5, 5e-5, 5e-4])
def test_fused_fcfs_matches_generic_path_bit_for_bit(seed, period_s):
    """The fused loop decides only the RQ prefix that can start in the period (a lower bound on
    each entry's start) and keeps its active jobs sorted incrementally: the schedule, the job
    outcomes and the energy must still equal the generic path's bit for bit, on short and long
    periods (chains of SJs inside one period), DAG branches, DRAM contention and equal arrivals."""
    from scheduler.sim.synthetic import random_table, random_trace

    rng = np.random.default_rng(100 + seed)
    t = SimTable.from_frame(
        random_table(rng, n_models=5, sa_classes=("a", "b", "c"), max_layers=14, max_bw_gbps=20.0),
        literal_platform(("a", "b", "b", "c"), dram_gbps=8.0),
    )
    tr = random_trace(rng, t.models, n_jobs=120, mean_gap_s=4e-5, qos_factor=float(rng.uniform(1.5, 5.0)))
    if seed % 2:  # equal arrivals: FCFS ties are broken by the RQ's deadline order
        tr["arrival_s"] = (tr["arrival_s"] // 1e-4) * 1e-4
    gen = Simulator(t, tr, get_policy("fcfs-h"), period_s, fused=False)
    ref = gen.run()
    fus = Simulator(t, tr, get_policy("fcfs-h"), period_s)
    res = fus.run()
    assert fus.fused_run
    pd.testing.assert_frame_equal(res.schedule, ref.schedule, check_exact=True)
    pd.testing.assert_frame_equal(res.jobs, ref.jobs, check_exact=True)
    assert res.summary["energy_j"] == ref.summary["energy_j"]
    assert res.summary["sla_satisfaction"] == ref.summary["sla_satisfaction"]
    assert np.array_equal(fus.busy_s, gen.busy_s)
    # every SJ that ran was decided exactly as the generic path decided it in the period it started
    ran = np.flatnonzero(gen.s_state == 2)
    for name in ("s_asg", "s_rank", "s_period"):
        assert np.array_equal(getattr(fus, name)[ran], getattr(gen, name)[ran]), name
