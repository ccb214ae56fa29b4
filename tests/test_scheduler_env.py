"""MASEnv: Gymnasium API compliance, the RELMAS encoding, and episodes that match the simulator."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from gymnasium.utils.env_checker import check_env

from scheduler.env import MASEnv
from scheduler.sim.encoding import decode_action, encode_rq, feature_size
from scheduler.sim.synthetic import literal_platform, random_table, random_trace
from scheduler.table import SimTable


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    table = SimTable.from_frame(random_table(rng, n_models=3), literal_platform(("a", "a", "b")))
    return table, random_trace(rng, table.models, n_jobs=25)


def test_check_env_fixed_trace_and_factory(setup):
    table, trace = setup
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(MASEnv(table, trace, 1e-4, max_rq=16))
        check_env(MASEnv(table, lambda s: random_trace(np.random.default_rng(s), table.models, 8), 1e-4, max_rq=8))


def test_encoding_layout_primer_and_mask(setup):
    table, trace = setup
    env = MASEnv(table, trace, 1e-4, max_rq=4)
    obs, info = env.reset(seed=0)
    M = table.n_sa
    assert obs["rq"].shape == (5, feature_size(M)) == (5, 4 + 2 * M)
    view = env.view
    rq, mask = encode_rq(view, 4)
    n = min(view.n_rq, 4)
    assert mask.sum() == 1 + n and mask[0] == 1
    assert (rq[0, :4] == 0).all() and (rq[0, 4 + M:] == 0).all()
    np.testing.assert_allclose(rq[1 : 1 + n, 4 : 4 + M], view.lat_s[:n] / view.period_s, rtol=1e-6)
    np.testing.assert_allclose(rq[1 : 1 + n, 2], (view.rq_deadline_s[:n] - view.now_s) / view.period_s, rtol=1e-6)
    # decode: argmax of the SA scores, priority from column 0; overflow entries go last
    act = np.zeros((4, 1 + M))
    act[:, 1 + M - 1] = 1.0
    d = decode_action(view, act)
    assert (d.sa[:n] == M - 1).all()
    if view.n_rq > 4:
        assert d.priority[4:].max() < d.priority[:4].min()


def test_episode_resolves_every_job_and_is_reproducible(setup):
    table, trace = setup

    def run(seed):
        env = MASEnv(table, trace, 1e-4, max_rq=32)
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        total, steps, done = 0.0, 0, False
        while not done:
            obs, r, done, trunc, info = env.step(rng.uniform(-1, 1, size=env.action_space.shape).astype(np.float32))
            total += r
            steps += 1
        return total, steps, env.result()

    a, b = run(3), run(3)
    assert a[0] == b[0] and a[1] == b[1]
    res = a[2]
    assert res.summary["jobs"] == len(trace)
    assert res.summary["hits"] + res.summary["late"] + res.summary["dropped"] == len(trace)
