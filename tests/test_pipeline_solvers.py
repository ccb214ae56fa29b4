"""Exact solver against brute force; feasibility and optimality properties of every solver."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from scheduler.pipeline.exact import solve_exact
from scheduler.pipeline.heuristic import (
    boundaries_to_assign, segment_times, solve_latency_balanced, solve_param_balanced,
)
from scheduler.pipeline.learned import solve_learned
from scheduler.pipeline.model import best_index, breakdown_batch, evaluate_batch, is_feasible
from scheduler.pipeline.solve import SOLVERS, solve
from scheduler.pipeline.synthetic import random_problem, random_problems


def all_feasible(problem):
    grid = np.array(list(itertools.product(range(problem.n_stages), repeat=problem.n_layers)))
    ok = np.all(grid[:, problem.edges[:, 0]] <= grid[:, problem.edges[:, 1]], axis=1)
    return grid[ok]


def contiguous_cuts(n: int, k: int):
    for cuts in itertools.combinations_with_replacement(range(n + 1), k - 1):
        yield boundaries_to_assign(np.array((0, *cuts, n)), n)


@pytest.mark.parametrize("seed", range(6))
def test_exact_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    problem = random_problem(rng, int(rng.integers(5, 8)), int(rng.integers(2, 4)))
    grid = all_feasible(problem)
    bott, total = evaluate_batch(problem, grid)
    best = best_index(bott, total)
    part = solve_exact(problem, time_limit_s=20, workers=1)
    assert part.status == "optimal"
    assert part.bottleneck_s == pytest.approx(bott[best], rel=1e-7)
    assert part.total_latency_s == pytest.approx(total[best], rel=1e-7)  # ties go to total latency
    assert part.lower_bound_s <= part.bottleneck_s and part.gap < 1e-6


@pytest.mark.parametrize("seed", range(4))
def test_contiguous_heuristics_are_optimal_over_contiguous_cuts(seed):
    rng = np.random.default_rng(100 + seed)
    problem = random_problem(rng, 9, 3)
    cuts = np.array(list(contiguous_cuts(problem.n_layers, problem.n_stages)))
    bd = breakdown_batch(problem, cuts)
    params_max = bd.param_bytes.max(axis=1)
    bal = solve_latency_balanced(problem)
    assert bal.bottleneck_s == pytest.approx(bd.stage_time_s.max(axis=1).min(), rel=1e-9)
    heur = solve_param_balanced(problem)
    assert heur.breakdown.param_bytes.max() == pytest.approx(params_max.min())


def test_segment_times_match_cost_model():
    problem = random_problem(np.random.default_rng(7), 30, 3)
    table = segment_times(problem)
    for a, b in [(0, 5), (3, 17), (10, 30), (29, 30), (12, 12)]:
        assign = np.zeros(30, dtype=int)
        assign[a:b] = 1
        assign[b:] = 2
        assert table[a, b] == pytest.approx(breakdown_batch(problem, assign[None]).stage_time_s[0, 1], rel=1e-12)


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_solver_returns_a_feasible_partition(solver):
    for problem in random_problems(seed=3, count=3, n_range=(15, 30)):
        part = solve(problem, solver, time_limit_s=10, workers=1, samples=7)
        assert part.assign.shape == (problem.n_layers,)
        assert is_feasible(problem, part.assign)
        assert part.bottleneck_s == pytest.approx(evaluate_batch(problem, part.assign[None])[0][0])
        assert part.solve_time_s >= 0


def test_exact_is_never_worse_than_the_heuristics():
    for problem in random_problems(seed=11, count=4, n_range=(12, 25)):
        exact = solve_exact(problem, time_limit_s=10, workers=1)
        for other in (solve_param_balanced(problem), solve_latency_balanced(problem), solve_learned(problem, samples=7)):
            assert exact.bottleneck_s <= other.bottleneck_s * (1 + 1e-9)


def test_learned_is_deterministic_for_a_seed():
    problem = random_problem(np.random.default_rng(5), 40, 4)
    a = solve_learned(problem, samples=15, seed=3)
    b = solve_learned(problem, samples=15, seed=3)
    np.testing.assert_array_equal(a.assign, b.assign)


def test_exact_time_limit_returns_bound_and_gap():
    problem = random_problem(np.random.default_rng(1), 120, 6)
    part = solve_exact(problem, time_limit_s=0.2, workers=1)
    assert is_feasible(problem, part.assign)
    assert part.lower_bound_s is not None and part.lower_bound_s <= part.bottleneck_s
    assert 0.0 <= part.gap <= 1.0
    assert part.status in ("optimal", "feasible")


def test_cuts_along_the_default_order_equal_the_balanced_heuristic():
    from scheduler.pipeline.heuristic import balanced_cuts_in_order

    problem = random_problem(np.random.default_rng(21), 40, 4)
    assign = balanced_cuts_in_order(problem, np.arange(problem.n_layers))
    np.testing.assert_array_equal(assign, solve_latency_balanced(problem).assign)
    # any topological order gives a feasible partition
    order = np.lexsort((np.arange(problem.n_layers), solve_learned(problem, samples=3, refine=False).assign))
    assert is_feasible(problem, balanced_cuts_in_order(problem, order))


def test_refinement_never_hurts():
    for problem in random_problems(seed=17, count=3, n_range=(20, 40)):
        raw = solve_learned(problem, samples=7, refine=False)
        refined = solve_learned(problem, samples=7, refine=True)
        assert refined.bottleneck_s <= raw.bottleneck_s * (1 + 1e-12)
