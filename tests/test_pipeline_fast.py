"""The compiled fast paths of pipelined partitioning give the same answers as their references.

* the numba decoder (:mod:`scheduler.pipeline.fast_decode`) returns exactly the rollouts of the
  step-by-step numpy decoder (``DecodeState``), so the trained policy is used as trained;
* the numba segment-cost matrix and dynamic programs (:mod:`scheduler.pipeline.dp_kernels`)
  agree with the cost model and with brute force over all contiguous cuts (ties included);
* the vectorised per-graph preprocessing (predecessor CSR, static features at several
  normalisers) equals its direct definition.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from scheduler.pipeline.heuristic import boundaries_to_assign, segment_times, solve_latency_balanced
from scheduler.pipeline.learned import (
    DEFAULT_SCALES, _default_policy, rollout, solve_learned, static_features, static_features_multi,
)
from scheduler.pipeline.model import PipelineProblem, best_index, breakdown_batch, evaluate_batch
from scheduler.pipeline.synthetic import random_problem, random_problems


@pytest.fixture(scope="module")
def policy():
    return _default_policy()


@pytest.mark.parametrize("seed", range(4))
def test_compiled_decoder_equals_numpy_decoder(policy, seed):
    for problem in random_problems(seed=40 + seed, count=3, n_range=(10, 90), stage_choices=(2, 3, 4, 5, 6, 8)):
        # low temperature: sampled rollouts stay clones of the greedy one for long; high: they split at once
        for samples, scales, temperature in ((15, DEFAULT_SCALES, 1.0), (7, (1.0, 0.9), 0.05), (31, (1.0,), 3.0),
                                             (0, (1.0,), 1.0)):
            kw = dict(samples=samples, seed=seed, scales=scales, temperature=temperature)
            fast = rollout(policy, problem, engine="compiled", **kw)
            ref = rollout(policy, problem, engine="numpy", **kw)
            np.testing.assert_array_equal(fast, ref)


def test_compiled_decoder_equals_numpy_decoder_on_a_zoo_network(policy):
    from scheduler.pipeline.costs import load_graph, problem_from_graph

    problem = problem_from_graph(load_graph("inceptionv3"), "edge_tpu", 5)
    fast = rollout(policy, problem, samples=15, seed=0, scales=DEFAULT_SCALES, engine="compiled")
    ref = rollout(policy, problem, samples=15, seed=0, scales=DEFAULT_SCALES, engine="numpy")
    np.testing.assert_array_equal(fast, ref)


def test_rollouts_are_feasible_and_seeded(policy):
    problem = random_problem(np.random.default_rng(3), 60, 5)
    a = rollout(policy, problem, samples=9, seed=1, scales=DEFAULT_SCALES)
    b = rollout(policy, problem, samples=9, seed=1, scales=DEFAULT_SCALES)
    np.testing.assert_array_equal(a, b)
    e = problem.edges
    assert np.all(a[:, e[:, 0]] <= a[:, e[:, 1]])
    assert a.min() >= 0 and a.max() < problem.n_stages


def test_unknown_engine_is_a_user_error(policy):
    from mascot.errors import MascotError

    with pytest.raises(MascotError, match="engine"):
        rollout(policy, random_problem(np.random.default_rng(0), 10, 2), engine="gpu")


def test_segment_matrix_matches_the_cost_model_everywhere():
    problem = random_problem(np.random.default_rng(8), 24, 3)
    n = problem.n_layers
    table = segment_times(problem)
    assert table.shape == (n + 1, n + 1)
    pairs = [(a, b) for a in range(n + 1) for b in range(a + 1, n + 1)]
    assigns = np.zeros((len(pairs), n), dtype=np.int64)
    for i, (a, b) in enumerate(pairs):
        assigns[i, a:b] = 1
        assigns[i, b:] = 2
    middle = breakdown_batch(problem, assigns).stage_time_s[:, 1]
    got = np.array([table[a, b] for a, b in pairs])
    np.testing.assert_allclose(got, middle, rtol=1e-12, atol=1e-18)
    idx = np.arange(n + 1)
    assert np.all(np.isinf(table[idx[:, None] > idx[None, :]]))
    assert np.all(table[idx, idx] == 0.0)


@pytest.mark.parametrize("seed", range(5))
def test_balanced_dp_equals_brute_force_with_ties(seed):
    rng = np.random.default_rng(200 + seed)
    problem = random_problem(rng, 10, int(rng.integers(2, 5)))
    if seed % 2:  # many exact ties: integer costs, no parameter streaming, no transfers
        problem = PipelineProblem(np.round(problem.compute_time_s * 1e3) + 1.0, np.zeros(10), np.zeros(10),
                                  problem.edges, problem.n_stages, 1.0, 1.0, 1.0)
    cuts = np.array([boundaries_to_assign(np.array((0, *c, 10)), 10)
                     for c in itertools.combinations_with_replacement(range(11), problem.n_stages - 1)])
    bott, total = evaluate_batch(problem, cuts)
    best = best_index(bott, total)
    part = solve_latency_balanced(problem)
    assert part.bottleneck_s == pytest.approx(bott[best], rel=1e-12)
    assert part.total_latency_s == pytest.approx(total[best], rel=1e-12)


def test_predecessor_csr_matches_the_edges():
    for problem in random_problems(seed=9, count=4, n_range=(5, 60)):
        ptr, idx = problem.pred_csr
        assert ptr[0] == 0 and ptr[-1] == len(problem.unique_out_edges)
        for v in range(problem.n_layers):
            expected = sorted(int(u) for u, w in problem.unique_out_edges if w == v)
            assert list(idx[ptr[v]: ptr[v + 1]]) == expected
            assert list(problem.preds[v]) == expected


def test_static_features_at_several_normalisers():
    problem = random_problem(np.random.default_rng(4), 50, 4)
    t_refs = np.array([1e-3, 2.5e-4, 7e-3])
    multi = static_features_multi(problem, t_refs)
    for g, t in enumerate(t_refs):
        np.testing.assert_array_equal(multi[g], static_features(problem, t))
    # only the time columns depend on the normaliser: halving it raises log1p(x / t)
    time_cols = [0, 2, 3, 10, 13]
    other = [c for c in range(multi.shape[2]) if c not in time_cols]
    np.testing.assert_array_equal(multi[0][:, other], multi[1][:, other])
    assert np.all(multi[1][:, 0] >= multi[0][:, 0])


def test_learned_solver_times_only_the_solve(policy):
    # the first call in a process compiles or loads the kernels; it must not be in solve_time_s
    problem = random_problem(np.random.default_rng(12), 200, 5)
    part = solve_learned(problem, policy=policy)
    assert 0 < part.solve_time_s < 5.0


def test_compiled_stage_terms_equal_the_numpy_formulation():
    from scheduler.pipeline.model import _receive_bytes

    rng = np.random.default_rng(31)
    for problem in random_problems(seed=31, count=5, n_range=(5, 70), stage_choices=(1, 2, 4, 6)):
        assigns = rng.integers(0, problem.n_stages, size=(12, problem.n_layers))
        bd = breakdown_batch(problem, assigns)
        np.testing.assert_array_equal(bd.receive_bytes, _receive_bytes(problem, assigns))
        for i, a in enumerate(assigns):
            compute = np.bincount(a, weights=problem.compute_time_s, minlength=problem.n_stages)
            params = np.bincount(a, weights=problem.param_bytes, minlength=problem.n_stages)
            np.testing.assert_array_equal(bd.compute_s[i], compute)
            np.testing.assert_array_equal(bd.param_bytes[i], params)


def test_out_of_range_stages_are_rejected_before_the_kernel():
    from mascot.errors import MascotError

    problem = random_problem(np.random.default_rng(2), 10, 3)
    with pytest.raises(MascotError, match="0..2"):
        evaluate_batch(problem, np.full((1, 10), 3))
    with pytest.raises(MascotError):
        evaluate_batch(problem, np.full((1, 10), -1))
