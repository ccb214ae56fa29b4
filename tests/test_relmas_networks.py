"""RELMAS actor / critic shapes, padding invariance, the encoding and the MAC count."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scheduler.relmas.ddpg import pad_states
from scheduler.relmas.encoding import Encoder, action_size, feature_size
from scheduler.relmas.networks import Actor, Critic, count_parameters, macs_per_step
from scheduler.sim import Simulator
from scheduler.sim.synthetic import layer_rows, literal_platform
from scheduler.table import SimTable

import pandas as pd


def test_sizes_follow_the_paper():
    assert feature_size(6) == 16  # F = 4 + 2M
    assert action_size(6) == 7  # G = 1 + M


@pytest.mark.parametrize("hidden", [8, 32])
def test_actor_and_critic_shapes(hidden):
    torch.manual_seed(0)
    F, G = feature_size(3), action_size(3)
    actor, critic = Actor(F, G, hidden), Critic(F, G, hidden)
    x = torch.randn(5, 1 + 9, F)
    a = actor(x)
    assert a.shape == (5, 9, G)
    assert float(a.detach().abs().max()) <= 1.0  # tanh
    q = critic(x, a, torch.full((5,), 9))
    assert q.shape == (5,)
    assert actor.lstm.hidden_size == hidden and actor.fc1.out_features == hidden // 2
    assert critic.lstm.input_size == F + G and critic.fc2.out_features == 1


def test_padding_does_not_change_real_steps():
    torch.manual_seed(1)
    F, G = feature_size(2), action_size(2)
    actor, critic = Actor(F, G, 16), Critic(F, G, 16)
    short = np.random.default_rng(0).normal(size=(1 + 3, F)).astype(np.float32)
    long = np.random.default_rng(1).normal(size=(1 + 7, F)).astype(np.float32)
    batch, n = pad_states([short, long])
    assert batch.shape == (2, 8, F) and n.tolist() == [3, 7]
    alone = actor(torch.from_numpy(short)[None])[0]
    padded = actor(batch)[0, :3]
    torch.testing.assert_close(alone, padded)
    q_alone = critic(torch.from_numpy(short)[None], alone[None], torch.tensor([3]))
    a = torch.zeros(2, 7, G)
    a[0, :3] = alone
    q_batch = critic(batch, a, n)
    torch.testing.assert_close(q_alone, q_batch[:1])


def test_macs_per_step_from_shapes_and_the_papers_figure():
    m = macs_per_step(16, 7, 256)
    assert m["lstm"] == 4 * 256 * (16 + 256) == 278_528
    assert m["fc1"] == 256 * 128 and m["fc2"] == 128 * 7
    assert m["total"] == 312_192
    # the paper's 316,288 is exactly the count with 20 inputs per step (4 more than F = 16)
    assert macs_per_step(20, 7, 256)["total"] == 316_288
    # the parameter count matches the shapes (weights + both LSTM bias vectors)
    actor = Actor(16, 7, 256)
    assert count_parameters(actor) == m["total"] + 2 * 4 * 256 + 128 + 7


def test_encoder_rows_and_normalisation():
    lat = [[1e-4, 2e-4], [3e-4, 1e-4]]
    df = pd.DataFrame(layer_rows("chain", [[], [0]], lat, [[8.0, 4.0], [0.0, 16.0]], [[1.0, 1.0]] * 2, ("a", "b")))
    table = SimTable.from_frame(df, literal_platform(("a", "b"), dram_gbps=16.0))
    trace = pd.DataFrame({"job_id": [0], "arrival_s": [0.0], "model": ["chain"], "qos": ["medium"], "qos_factor": [3.0]})
    sim = Simulator(table, trace, policy=None, period_s=1e-4)
    view = sim.begin_period()
    enc = Encoder(models=("other", "chain"), n_sa=2, time_scale_s=1e-4)
    x = enc.encode(view)
    assert x.shape == (3, feature_size(2))
    assert np.all(x[0] == 0)  # idle SAs: the primer is all zeros
    assert x[1, 0] == pytest.approx(1.0) and x[2, 0] == pytest.approx(1.0)  # (index 1 + 1) / K
    assert x[1, 1] == 0.0 and x[2, 1] == 1.0  # relative depth
    iso = table.isolated_s[0]
    assert x[1, 2] == pytest.approx(np.log1p(3 * iso / 1e-4), rel=1e-6)
    assert x[1, 3] == 0.0
    assert x[1, 4:6] == pytest.approx(np.log1p(np.array([1.0, 2.0])), rel=1e-6)
    assert x[2, 6:8] == pytest.approx([0.0, 1.0])  # bandwidth / DRAM capacity
    assert enc.encode(view, max_rq=1).shape == (2, 8)
    assert enc.encode(view, rows=np.array([1])).shape == (2, 8)
