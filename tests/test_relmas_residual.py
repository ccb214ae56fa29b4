"""RELMAS extensions (beyond the paper): extended features and the residual formulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from mascot.errors import MascotError
from scheduler.policies import get_policy
from scheduler.policies.heuristics import earliest_finish_assignment
from scheduler.relmas.codec import Codec, ResidualSpec
from scheduler.relmas.encoding import EXTRA_FEATURES, Encoder, feature_size
from scheduler.relmas.networks import Actor
from scheduler.relmas.policy import RelmasPolicy, save_policy
from scheduler.relmas.scenarios import Scenario
from scheduler.relmas.train import Trainer, config_from
from scheduler.sim import Simulator
from scheduler.sim.synthetic import layer_rows, literal_platform
from scheduler.table import SimTable

from tests.test_relmas_train import SCEN, small_table


def chain_view():
    lat = [[1e-4, 2e-4], [3e-4, 1e-4]]
    df = pd.DataFrame(layer_rows("chain", [[], [0]], lat, [[8.0, 4.0], [0.0, 16.0]], [[1.0, 1.0]] * 2, ("a", "b")))
    table = SimTable.from_frame(df, literal_platform(("a", "b"), dram_gbps=16.0))
    trace = pd.DataFrame({"job_id": [0, 1], "arrival_s": [0.0, 0.0], "model": ["chain", "chain"], "qos": ["high", "low"],
                          "qos_factor": [3.0, 3.0]})
    sim = Simulator(table, trace, policy=None, period_s=1e-4)
    return table, sim.begin_period()


def test_extended_features_keep_the_paper_columns_and_add_five():
    table, view = chain_view()
    paper = Encoder(models=("chain",), n_sa=2, time_scale_s=1e-4)
    ext = Encoder(models=("chain",), n_sa=2, time_scale_s=1e-4, features="extended")
    assert ext.n_features == feature_size(2) + len(EXTRA_FEATURES) == 13
    xp, xe = paper.encode(view), ext.encode(view, base_rank=np.array([3, 2, 1, 0]))
    np.testing.assert_array_equal(xe[:, : feature_size(2)], xp)  # F = 4 + 2M untouched, in place
    assert np.all(xe[0, feature_size(2):] == 0)  # the primer has no extension
    F = feature_size(2)
    # job 0 (high QoS) has both layers waiting: fastest 1e-4 + 1e-4 = 2 periods of work
    assert view.n_rq == 4
    row = int(np.flatnonzero(view.rq_job == 0)[0]) + 1
    assert xe[row, F + 0] == pytest.approx(np.log1p(2.0), rel=1e-6)
    deadline = view.rq_deadline_s[row - 1]
    slack = (deadline - 0.0 - 2e-4) / 1e-4
    assert xe[row, F + 1] == pytest.approx(np.log1p(slack), rel=1e-6)
    # tokens at arrival are the QoS weights: high 9 (= the threshold), low 1
    assert xe[row, F + 2] == pytest.approx(0.0, abs=1e-6)
    low_row = int(np.flatnonzero(view.rq_job == 1)[0]) + 1
    assert xe[low_row, F + 2] == pytest.approx(np.log(1 / 9), rel=1e-6)
    assert xe[row, F + 3] == 1.0 and xe[low_row, F + 3] == 0.0
    assert sorted(xe[1:, F + 4].tolist()) == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])
    with pytest.raises(MascotError, match="feature set"):
        Encoder(models=(), n_sa=2, time_scale_s=1e-4, features="fancy")


def test_zero_residual_is_exactly_the_base_policy():
    table = small_table()
    enc = Encoder(tuple(table.models), table.n_sa, SCEN.period_s, features="extended")
    torch.manual_seed(0)
    actor = Actor(enc.n_features, enc.n_actions, 8)
    with torch.no_grad():
        actor.fc2.weight.zero_()
        actor.fc2.bias.zero_()
    trace = SCEN.trace(11)
    for base in ("prema-h", "fcfs-h", "prema-h-reserve"):
        pol = RelmasPolicy(actor, enc, max_rq=16, mode="residual", residual=ResidualSpec(base=base))
        ours = Simulator(table, trace, pol, SCEN.period_s).run().deterministic_summary()
        ref = Simulator(table, trace, get_policy(base), SCEN.period_s).run().deterministic_summary()
        ours.pop("policy"), ref.pop("policy")
        assert ours == ref, base


def test_residual_decoding_moves_priorities_and_sas():
    table, view = chain_view()
    enc = Encoder(("chain",), 2, 1e-4, features="extended")
    codec = Codec(enc, max_rq=8, mode="residual", residual=ResidualSpec(base="fcfs-h", prio_scale=2.5, sa_bonus=0.5))
    rank, base = codec.base(view)
    a = np.zeros((view.n_rq, 3))
    last_job = view.rq_job[int(np.argmax(rank))]
    rows = np.flatnonzero(view.rq_job == last_job)
    a[rows[0], 0] = 1.0  # the job's mean shift is 0.5 × 2.5: not enough to pass the other job (key 1)
    d = codec.decode(view, a)
    first = rows[np.argmin(rank[rows])]
    assert int(np.argmax(d.priority)) != first
    a[rows, 0] = 1.0  # +2.5: the base's last job runs first, its SJs in the base's order
    d = codec.decode(view, a)
    order = np.argsort(-d.priority, kind="stable")
    assert order[: len(rows)].tolist() == rows[np.argsort(rank[rows])].tolist()
    assert set(order[len(rows):].tolist()) == set(np.flatnonzero(view.rq_job != last_job).tolist())
    a = np.zeros((view.n_rq, 3))
    other = 1 - int(base.sa[0])
    a[0, 1 + other] = 0.6  # beats the heuristic's SA (bonus 0.5)
    d = codec.decode(view, a)
    assert int(d.sa[0]) == other and np.array_equal(d.sa[1:], base.sa[1:])
    a[0, 1 + other] = 0.4  # does not
    assert int(codec.decode(view, a).sa[0]) == int(base.sa[0])
    with pytest.raises(MascotError, match="mode"):
        Codec(enc, 8, mode="sideways")


def test_a_reordered_residual_places_sjs_with_the_base_sa_rule():
    """With ``prema-h-reserve`` as the base, moving jobs never puts a long SJ on the reserved SA."""
    # "short" fits only a, so a is kept for it; "long" would otherwise use a whenever b is queued
    rows = layer_rows("long", [[]], [[1.5e-4, 1e-4]], [[0.0, 0.0]], [[1.0, 1.0]], ("a", "b"))
    rows += layer_rows("short", [[]], [[5e-6, 5e-5]], [[0.0, 0.0]], [[1.0, 1.0]], ("a", "b"))
    table = SimTable.from_frame(pd.DataFrame(rows), literal_platform(("a", "b"), dram_gbps=16.0))
    trace = pd.DataFrame({"job_id": [0, 1, 2], "arrival_s": [0.0] * 3, "model": ["long"] * 3, "qos": ["low"] * 3,
                          "qos_factor": [30.0] * 3})
    view = Simulator(table, trace, policy=None, period_s=1e-4).begin_period()
    enc = Encoder(tuple(table.models), 2, 1e-4, features="extended")
    codec = Codec(enc, max_rq=8, mode="residual", residual=ResidualSpec(base="prema-h-reserve", prio_scale=2.5, sa_bonus=0.5))
    rank, base = codec.base(view)
    assert np.all(base.sa == 1)
    a = np.zeros((view.n_rq, 3))
    a[int(np.argmax(rank)), 0] = 1.0  # the base's last job goes first
    d = codec.decode(view, a)
    order = np.argsort(-d.priority, kind="stable")
    assert order[0] == int(np.argmax(rank))
    assert np.all(d.sa == 1)
    assert not np.all(earliest_finish_assignment(view, order)[0] == 1)  # plain earliest finish would use a


def test_residual_training_starts_at_the_base_and_saves_a_loadable_policy(tmp_path):
    table = small_table()
    out = tmp_path / "r.pt"
    cfg = config_from(steps=8, seed=1, hidden=8, max_rq=16, mode="residual", features="extended", eval_every=4, eval_traces=1,
                      eval_qos="low,high", checkpoint_every=8, critic_warmup=2, warmup_transitions=16, batch_size=8,
                      updates_per_step=0.25)
    tr = Trainer(table, SCEN, cfg, output=out)
    res = tr.run()
    assert len(tr.val_traces) == 2
    curve = res.curve
    # update 0 is the zero correction: its validation SLA is the base's on the same traces
    assert curve["val_sla"].iloc[0] == pytest.approx(tr.reference["prema-h"])
    assert res.best_val_sla >= tr.reference["prema-h"]
    best_update = torch.load(out, weights_only=True)["meta"]["best_update"]  # which actor the file holds
    assert curve.set_index("updates").loc[best_update, "val_sla"] == res.best_val_sla
    assert (curve.loc[curve["updates"] < best_update, "best_val_sla"] < res.best_val_sla).all()
    pol = get_policy(f"relmas:{out}")
    assert pol.codec.mode == "residual" and pol.encoder.features == "extended"
    s = Simulator(table, SCEN.trace(77), pol, SCEN.period_s).run().summary
    assert s["jobs"] == s["hits"] + s["late"] + s["dropped"]


def test_format_1_policy_files_still_load(tmp_path):
    """Files written before the extensions (no mode, no feature set) load as the paper's policy."""
    table = small_table()
    enc = Encoder(tuple(table.models), table.n_sa, SCEN.period_s)
    path = tmp_path / "v1.pt"
    save_policy(path, Actor(enc.n_features, enc.n_actions, 8), enc, 16)
    d = torch.load(path, weights_only=True)
    for k in ("mode", "residual"):
        d.pop(k)
    d["encoder"].pop("features")
    d["version"] = 1
    torch.save(d, path)
    pol = RelmasPolicy.load(path)
    assert pol.codec.mode == "direct" and pol.encoder.features == "paper"
    assert isinstance(SCEN, Scenario)


def test_wall_clock_cap_stops_with_outputs_and_margin_keeps_the_warm_start(tmp_path):
    table = small_table()
    out = tmp_path / "w.pt"
    cfg = config_from(steps=1000, seed=2, hidden=8, max_rq=16, mode="residual", eval_every=5, eval_traces=1,
                      warmup_transitions=16, batch_size=8, max_wall_s=1e-6, select_margin=1.0)
    res = Trainer(table, SCEN, cfg, output=out).run()
    assert res.updates == 0 and out.is_file()  # stopped before the first update, outputs written
    # a margin of 100 points: nothing can replace the zero correction, so the file is the base itself
    pol = get_policy(f"relmas:{out}")
    trace = SCEN.trace(31)
    ours = Simulator(table, trace, pol, SCEN.period_s).run().deterministic_summary()
    ref = Simulator(table, trace, get_policy("prema-h"), SCEN.period_s).run().deterministic_summary()
    ours.pop("policy"), ref.pop("policy")
    assert ours == ref


def test_cli_refuses_unknown_mode_and_feature_set(tmp_path):
    from mascot.cli import main

    from tests.test_relmas_train import light_frame

    classes = ("eyeriss_small", "eyeriss_large", "simba_small", "simba_large")
    table = tmp_path / "t.parquet"
    light_frame(classes).to_parquet(table, index=False)
    args = ["train", "relmas", "--table", str(table), "--system", "relmas6", "--workload", "light", "--steps", "2",
            "-o", str(tmp_path / "p.pt"), "--hidden", "8", "--json"]
    assert main(args + ["--mode", "sideways"]) == 2
    assert main(args + ["--mode", "residual", "--features", "fancy"]) == 2
    assert main(args + ["--mode", "residual", "--eval-qos", "urgent"]) == 2
    assert not (tmp_path / "p.pt").exists()


def test_job_noise_shares_one_priority_draw_per_job():
    """--job-noise: every encoded SJ of a job gets the same priority noise (the residual decoder averages
    a job's SJs, so per-SJ noise would cancel); the SA scores keep their own per-SJ draws."""
    table = small_table()
    cfg = config_from(steps=0, seed=4, hidden=8, max_rq=16, mode="residual", features="extended", eval_traces=1,
                      job_noise=True, noise_std=0.3)
    tr = Trainer(table, SCEN, cfg)
    act = tr._explore()
    sim = Simulator(table, SCEN.trace(5), policy=None, period_s=SCEN.period_s)
    tr.codec.reset(0)
    view = sim.begin_period()
    while view is not None and len(np.unique(view.rq_job)) < 2:
        sim.run_period()
        view = sim.begin_period()
    assert view is not None, "the trace never had two jobs waiting at once"
    state = tr.codec.encode(view)
    clean = tr.agent.act(state)
    noisy, decision = act(view, state)
    delta = noisy - clean
    jobs = view.rq_job[: noisy.shape[0]]
    for j in np.unique(jobs):
        assert np.allclose(delta[jobs == j, 0], delta[jobs == j][0, 0]), j  # one draw per job
    assert len({round(float(delta[jobs == j][0, 0]), 6) for j in np.unique(jobs)}) > 1  # different jobs, different draws
    assert np.unique(np.round(delta[:, 1:], 6)).size > 2  # SA scores: per-SJ noise
    assert len(decision.sa) == view.n_rq
    # without the option the priority noise is per SJ again
    plain = Trainer(table, SCEN, config_from(steps=0, seed=4, hidden=8, max_rq=16, mode="residual", eval_traces=1, noise_std=0.3))
    assert plain.config.job_noise is False
