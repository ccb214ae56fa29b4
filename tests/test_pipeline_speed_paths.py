"""The learned solver's speed paths agree with their references.

* the numba BiLSTM encoder (:mod:`scheduler.pipeline.encoder_kernel`) matches ``torch.nn.LSTM``
  to float32 rounding, and the rollouts it drives equal those of the torch encoder;
* the stage mask ``max_ahead`` is applied alike by the compiled and the numpy decoder;
* the fused segment-matrix kernel equals the dense difference-array formulation bit for bit, and
  the reordered matrix of :func:`balanced_cuts_in_order` equals the one of a renumbered problem;
* ``unique_out_edges`` equals ``np.unique(edges, axis=0)``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scheduler.pipeline.encoder_kernel import CompiledEncoder
from scheduler.pipeline.heuristic import _segment_times_t, segment_times, solve_latency_balanced
from scheduler.pipeline.learned import (
    DEFAULT_SCALES, PartitionPolicy, PolicyConfig, _default_policy, encode_layers, rollout, static_features,
)
from scheduler.pipeline.model import PipelineProblem
from scheduler.pipeline.synthetic import random_problem, random_problems


@pytest.fixture(scope="module")
def policy():
    return _default_policy()


def _torch_encode(policy: PartitionPolicy, static: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return policy.encode(torch.from_numpy(static)[None]).numpy()[0]


@pytest.mark.parametrize("hidden, mlp", [(64, 128), (32, 64), (8, 16)])
def test_compiled_encoder_matches_torch(hidden, mlp):
    torch.manual_seed(hidden)
    policy = PartitionPolicy(PolicyConfig(hidden=hidden, mlp=mlp)).eval()
    for problem in random_problems(seed=hidden, count=3, n_range=(1, 120)):
        static = static_features(problem, solve_latency_balanced(problem).bottleneck_s)
        ref = _torch_encode(policy, static)
        got = CompiledEncoder(policy)(static)
        assert got.shape == ref.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=2e-5)


def test_compiled_encoder_matches_torch_on_the_shipped_model_and_a_zoo_network(policy):
    from scheduler.pipeline.costs import load_graph, problem_from_graph

    problem = problem_from_graph(load_graph("densenet121"), "edge_tpu", 4)
    static = static_features(problem, solve_latency_balanced(problem).bottleneck_s)
    np.testing.assert_allclose(encode_layers(policy, static, "compiled"), encode_layers(policy, static, "torch"),
                               rtol=1e-4, atol=2e-5)


def test_rollouts_with_either_encoder_agree(policy):
    # float32 rounding differences must not change the choices (no logit ties that close)
    agree = total = 0
    for problem in random_problems(seed=5, count=6, n_range=(10, 90), stage_choices=(2, 3, 4, 6)):
        fast = rollout(policy, problem, samples=7, seed=1, scales=DEFAULT_SCALES, encoder="compiled")
        ref = rollout(policy, problem, samples=7, seed=1, scales=DEFAULT_SCALES, encoder="torch")
        agree += int(np.all(fast == ref, axis=1).sum())
        total += fast.shape[0]
    assert agree >= 0.95 * total


def test_unknown_encoder_is_a_user_error(policy):
    from mascot.errors import MascotError

    problem = random_problem(np.random.default_rng(0), 10, 2)
    with pytest.raises(MascotError, match="encoder"):
        rollout(policy, problem, encoder="onnx")


@pytest.mark.parametrize("max_ahead", [0, 1, 2, 8])
def test_stage_mask_is_the_same_in_both_decoders(policy, max_ahead):
    for problem in random_problems(seed=60 + max_ahead, count=3, n_range=(10, 70), stage_choices=(2, 4, 6)):
        kw = dict(samples=9, seed=2, scales=(1.0, 0.9), max_ahead=max_ahead)
        fast = rollout(policy, problem, engine="compiled", **kw)
        ref = rollout(policy, problem, engine="numpy", **kw)
        np.testing.assert_array_equal(fast, ref)
        e = problem.edges
        assert np.all(fast[:, e[:, 0]] <= fast[:, e[:, 1]])
        # no layer goes more than max_ahead stages past the latest stage used before it
        opened = np.maximum.accumulate(np.concatenate([np.zeros((fast.shape[0], 1), dtype=np.int64), fast[:, :-1]],
                                                      axis=1), axis=1)
        assert np.all(fast <= opened + max_ahead)


def _dense_segment_matrix(problem: PipelineProblem) -> np.ndarray:
    """The reference formulation: a dense difference array, ``np.add.at``, two ``np.cumsum``."""
    n = problem.n_layers
    c_pre = np.concatenate([[0.0], np.cumsum(problem.compute_time_s)])
    p_pre = np.concatenate([[0.0], np.cumsum(problem.param_bytes)])
    h_pre = np.concatenate([[0.0], np.cumsum(problem.host_in_bytes)])
    e = np.unique(problem.edges, axis=0)
    diff = np.zeros((n + 2, n + 2))
    if e.size:
        u, v = e[:, 0], e[:, 1]
        prev = np.where(np.r_[False, u[1:] == u[:-1]], np.r_[0, v[:-1]], u)
        w = problem.out_bytes[u]
        np.add.at(diff, (prev + 1, v + 1), w)
        np.add.at(diff, (v + 1, v + 1), -w)
    run = np.cumsum(np.cumsum(diff, axis=0), axis=1)[: n + 1, : n + 1]
    a, b = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    recv = (h_pre[b] - h_pre[a]) + run
    stream = np.maximum((p_pre[b] - p_pre[a]) - problem.param_mem_bytes, 0.0) / problem.param_bw_bytes_per_s
    t = (c_pre[b] - c_pre[a]) + stream + recv / problem.link_bw_bytes_per_s
    t[b < a] = np.inf
    t[a == b] = 0.0
    return t


def test_fused_segment_matrix_equals_the_dense_formulation_bit_for_bit():
    from scheduler.pipeline.costs import load_graph, problem_from_graph

    problems = list(random_problems(seed=77, count=20, n_range=(1, 90)))
    problems.append(problem_from_graph(load_graph("inceptionv3"), "edge_tpu", 4))
    for problem in problems:
        np.testing.assert_array_equal(segment_times(problem), _dense_segment_matrix(problem))


def test_reordered_segment_matrix_equals_a_renumbered_problem(policy):
    for problem in random_problems(seed=12, count=5, n_range=(10, 80)):
        assign = rollout(policy, problem, samples=0)[0]
        order = np.lexsort((np.arange(problem.n_layers), assign))
        pos = np.empty_like(order)
        pos[order] = np.arange(order.size)
        renumbered = PipelineProblem(problem.compute_time_s[order], problem.param_bytes[order],
                                     problem.out_bytes[order], pos[problem.edges], problem.n_stages,
                                     problem.param_mem_bytes, problem.param_bw_bytes_per_s,
                                     problem.link_bw_bytes_per_s, problem.host_in_bytes[order])
        np.testing.assert_array_equal(_segment_times_t(problem, order), _segment_times_t(renumbered))


def test_unique_edges_equal_the_row_unique():
    rng = np.random.default_rng(3)
    for problem in random_problems(seed=3, count=5, n_range=(5, 60)):
        dup = problem.edges[rng.integers(0, len(problem.edges), size=len(problem.edges) // 3)]
        edges = np.concatenate([problem.edges, dup])[rng.permutation(len(problem.edges) + len(dup))]
        p = PipelineProblem(problem.compute_time_s, problem.param_bytes, problem.out_bytes, edges, 3,
                            problem.param_mem_bytes, problem.param_bw_bytes_per_s, problem.link_bw_bytes_per_s)
        np.testing.assert_array_equal(p.unique_out_edges, np.unique(edges, axis=0))
