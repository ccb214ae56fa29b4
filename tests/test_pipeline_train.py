"""Training of the learned partitioner: reproducible from a seed, runnable from the CLI."""

from __future__ import annotations

import json

import numpy as np
import torch

from mascot.cli import main
from scheduler.pipeline.learned import DEFAULT_MODEL_PATH, load_policy, solve_learned
from scheduler.pipeline.model import is_feasible
from scheduler.pipeline.synthetic import random_problem, random_problems
from scheduler.pipeline.train import TrainConfig, run_training

TINY = TrainConfig(seed=3, graphs=6, min_layers=6, max_layers=10, epochs=1, batch=4)


def test_synthetic_graphs_are_reproducible_dags():
    a = random_problems(seed=1, count=3)
    b = random_problems(seed=1, count=3)
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p.edges, q.edges)
        np.testing.assert_array_equal(p.compute_time_s, q.compute_time_s)
        assert np.all(p.edges[:, 0] < p.edges[:, 1])
        assert p.param_bytes.min() >= 0 and p.out_bytes.min() > 0


def test_same_seed_same_model(tmp_path):
    m1 = run_training(TINY, tmp_path / "a.pt", show_progress=False)
    m2 = run_training(TINY, tmp_path / "b.pt", show_progress=False)
    assert m1["val_mean_gap"] == m2["val_mean_gap"]
    p1, _ = load_policy(tmp_path / "a.pt")
    p2, _ = load_policy(tmp_path / "b.pt")
    for (name, t1), (_, t2) in zip(p1.state_dict().items(), p2.state_dict().items()):
        assert torch.equal(t1, t2), name
    # a freshly trained model already yields feasible partitions
    problem = random_problem(np.random.default_rng(0), 20, 3)
    assert is_feasible(problem, solve_learned(problem, policy=p1, samples=3).assign)


def test_train_cli(tmp_path, capsys):
    out = tmp_path / "policy.pt"
    rc = main(["pipeline", "train", "--graphs", "6", "--min-layers", "6", "--max-layers", "10", "--epochs", "1",
               "--out", str(out), "--json"])
    assert rc == 0
    head = json.loads(capsys.readouterr().out)
    assert out.exists() and head["train_graphs"] + head["val_graphs"] == 6


def test_shipped_model_is_small_and_loads():
    assert DEFAULT_MODEL_PATH.exists()
    assert DEFAULT_MODEL_PATH.stat().st_size < 1_000_000
    _, meta = load_policy()
    assert meta["config"]["seed"] == 0


def test_train_cli_sets_the_network_size(tmp_path, capsys):
    out = tmp_path / "small.pt"
    rc = main(["pipeline", "train", "--graphs", "6", "--min-layers", "6", "--max-layers", "10", "--epochs", "1",
               "--hidden", "8", "--mlp", "16", "--out", str(out), "--json"])
    assert rc == 0
    capsys.readouterr()
    policy, meta = load_policy(out)
    assert (policy.config.hidden, policy.config.mlp) == (8, 16)
    assert (meta["config"]["hidden"], meta["config"]["mlp"]) == (8, 16)


def test_shipped_model_is_what_the_default_training_builds():
    # `mascot pipeline train --seed 0` (TrainConfig defaults) rebuilds the shipped file
    policy, meta = load_policy()
    defaults = TrainConfig()
    for key, value in defaults.__dict__.items():
        expected = list(value) if isinstance(value, tuple) else value
        assert meta["config"][key] == expected, key
    assert (policy.config.hidden, policy.config.mlp) == (defaults.hidden, defaults.mlp)
