"""Exact pipelined partitioning with OR-Tools CP-SAT.

Formulation (``n`` layers, ``k`` stages, integer time units of ``1 / scale`` seconds):

* ``y[v, j]`` (bool, ``j = 1..k-1``) means "layer ``v`` sits in stage ``j`` or later"; it is
  monotone in ``j`` (``y[v, j+1] <= y[v, j]``), so ``x[v, j] = y[v, j] - y[v, j+1]`` (with
  ``y[v, 0] = 1``, ``y[v, k] = 0``) is the one-hot stage of ``v``. Precedence is
  ``y[u, j] <= y[v, j]`` for every edge ``u -> v`` and every ``j``: a tight encoding whose LP
  relaxation already respects the DAG.
* parameter streaming: ``s[j] >= sum_v w_v x[v, j] - W`` and ``s[j] >= 0`` (``w_v`` parameter
  bytes converted to streaming time, ``W`` the on-chip memory likewise);
* activation receive: ``r[u, j] >= x[v, j] - y[u, j]`` for every edge ``u -> v``: the tensor of
  ``u`` is paid once by stage ``j`` when some consumer is in ``j`` and ``u`` is in an earlier
  stage (``y[u, j] = 0``);
* ``T >= T_j`` for every stage; phase 1 minimises ``T``; phase 2 (with the time left) fixes
  ``T`` to the phase-1 value and minimises ``sum_j T_j`` (ties by total latency).

Costs are rounded to integers with ``scale = 1e9 / (sum of all cost terms)``; the returned
partition is re-scored in floating point by :mod:`scheduler.pipeline.model`, and the returned
lower bound is the solver's bound minus the largest possible rounding error, so it stays valid.
The latency-balanced contiguous cut is given to CP-SAT as a hint (a good first solution).
"""

from __future__ import annotations

import time

import numpy as np
from ortools.sat.python import cp_model

from scheduler.pipeline.heuristic import solve_latency_balanced
from scheduler.pipeline.model import Partition, PipelineProblem, make_partition

_RESOLUTION = 1e9  # 1e12 breaks CP-SAT's numerics (wrong 'optimal' answers seen)


def _status_name(status: int) -> str:
    return {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible", cp_model.INFEASIBLE: "infeasible",
            cp_model.MODEL_INVALID: "invalid", cp_model.UNKNOWN: "unknown"}[status]


def solve_exact(problem: PipelineProblem, time_limit_s: float = 60.0, workers: int = 2, seed: int = 0,
                tie_break: bool = True, hint: np.ndarray | None = None, deterministic: bool = False) -> Partition:
    """Optimal partition (or the best found, with its bound and gap, at ``time_limit_s``).

    ``workers`` CP-SAT search workers (1 makes runs repeatable); ``hint`` an initial assignment
    (default: the latency-balanced contiguous cut). ``status`` of the result is ``optimal`` when
    the bottleneck is proven optimal, else ``feasible``. ``deterministic`` counts the limit in
    CP-SAT's deterministic time units instead of seconds, so that (with ``workers=1``) a run
    stopped by the limit still repeats exactly (the training set relies on it).
    """
    start = time.perf_counter()
    n, k = problem.n_layers, problem.n_stages
    if hint is None:
        hint = solve_latency_balanced(problem).assign
    if k == 1:
        return _single_stage(problem, start)

    edges = problem.unique_out_edges
    producers = np.unique(edges[:, 0]) if edges.size else np.zeros(0, dtype=np.int64)
    stream_s = problem.param_bytes / problem.param_bw_bytes_per_s
    recv_s = problem.out_bytes / problem.link_bw_bytes_per_s
    host_s = problem.host_in_bytes / problem.link_bw_bytes_per_s
    upper = problem.compute_time_s.sum() + stream_s.sum() + recv_s[producers].sum() * (k - 1) + host_s.sum()
    scale = _RESOLUTION / max(upper, 1e-30)
    c_int = np.rint((problem.compute_time_s + host_s) * scale).astype(np.int64)
    w_int = np.rint(stream_s * scale).astype(np.int64)
    mem_int = int(np.rint(problem.param_mem_bytes / problem.param_bw_bytes_per_s * scale))
    a_int = np.rint(recv_s * scale).astype(np.int64)
    big = int(_RESOLUTION * 2) + 1

    m = cp_model.CpModel()
    y = [[None] + [m.NewBoolVar(f"y{v}_{j}") for j in range(1, k)] for v in range(n)]

    def ge(v: int, j: int):  # "stage(v) >= j" as a linear term (constant at the ends)
        if j <= 0:
            return 1
        if j >= k:
            return 0
        return y[v][j]

    def x(v: int, j: int):
        return ge(v, j) - ge(v, j + 1)

    for v in range(n):
        for j in range(1, k - 1):
            m.AddImplication(y[v][j + 1], y[v][j])
    for u, v in edges:
        for j in range(1, k):
            m.AddImplication(y[int(u)][j], y[int(v)][j])

    r = {}
    consumers: dict[int, list[int]] = {}
    for u, v in edges:
        consumers.setdefault(int(u), []).append(int(v))
    for u, cons in consumers.items():
        if a_int[u] == 0:
            continue
        for j in range(1, k):
            r[u, j] = m.NewBoolVar(f"r{u}_{j}")
            for v in cons:
                # r >= x[v, j] - y[u, j]
                m.Add(r[u, j] >= x(v, j) - ge(u, j))

    t_big = m.NewIntVar(0, big, "T")
    stage_terms = []
    streams = []
    for j in range(k):
        stream = m.NewIntVar(0, big, f"s{j}")
        streams.append(stream)
        m.Add(stream >= sum(int(w_int[v]) * x(v, j) for v in range(n) if w_int[v]) - mem_int)
        t_j = m.NewIntVar(0, big, f"T{j}")
        recv = sum(int(a_int[u]) * r[u, j] for u in consumers if (u, j) in r)
        m.Add(t_j == sum(int(c_int[v]) * x(v, j) for v in range(n) if c_int[v]) + stream + recv)
        m.Add(t_big >= t_j)
        stage_terms.append(t_j)
    # a redundant cut that tightens the LP bound: k stages share all the compute
    m.Add(k * t_big >= int(c_int.sum()))

    hint = np.asarray(hint, dtype=np.int64)
    _add_full_hint(m, hint, y, r, consumers, streams, stage_terms, t_big, c_int, w_int, a_int, mem_int)

    solver = cp_model.CpSolver()
    if deterministic:
        solver.parameters.max_deterministic_time = float(time_limit_s)
    else:
        solver.parameters.max_time_in_seconds = float(time_limit_s)
    solver.parameters.num_search_workers = int(workers)
    solver.parameters.random_seed = int(seed)
    m.Minimize(t_big)
    status = solver.Solve(m)
    slack = (n + len(r) + 2 * k) * 0.5 + 1  # worst-case rounding, in integer units
    # a bound that needs no search: the compute must be shared by k stages, and no layer splits
    trivial_s = max(problem.compute_time_s.sum() / k, float(problem.compute_time_s.max()))
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):  # nothing found in time: keep the hint
        bound_s = max(trivial_s, (solver.BestObjectiveBound() - slack) / scale)
        return make_partition(problem, hint, "exact", time.perf_counter() - start, "feasible",
                              min(bound_s, _score(problem, hint)))

    def read() -> np.ndarray:
        return np.array([sum(int(solver.Value(y[v][j])) for j in range(1, k)) for v in range(n)], dtype=np.int64)

    assign = read()
    proven = status == cp_model.OPTIMAL
    bound_s = max(trivial_s, (solver.BestObjectiveBound() - slack) / scale)
    elapsed = time.perf_counter() - start
    left = time_limit_s - (solver.deterministic_time if deterministic else elapsed)
    if tie_break and proven and left > 0.05:
        best_t = int(solver.Value(t_big))
        m.Add(t_big <= best_t)
        m.ClearHints()
        _add_full_hint(m, assign, y, r, consumers, streams, stage_terms, t_big, c_int, w_int, a_int, mem_int)
        m.Minimize(sum(stage_terms))
        if deterministic:
            solver.parameters.max_deterministic_time = float(left)
        else:
            solver.parameters.max_time_in_seconds = float(left)
        status2 = solver.Solve(m)
        if status2 in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            assign = read()
    status_name = "optimal" if proven else "feasible"
    hint_s, got_s = _score(problem, hint), _score(problem, assign)
    if hint_s < got_s * (1 - 1e-6):
        # the hint beat CP-SAT's answer: a time-limited run, or integer rounding fooled it
        assign, status_name, bound_s = hint, "feasible", min(bound_s, hint_s)
    return make_partition(problem, assign, "exact", time.perf_counter() - start, status_name,
                          min(bound_s, _score(problem, assign)))


def _add_full_hint(m: cp_model.CpModel, assign: np.ndarray, y: list, r: dict, consumers: dict[int, list[int]],
                   streams: list, stage_terms: list, t_big: cp_model.IntVar, c_int: np.ndarray, w_int: np.ndarray,
                   a_int: np.ndarray, mem_int: int) -> None:
    """Hint every variable (not only the stages) so CP-SAT starts from a complete solution."""
    k = len(stage_terms)
    t = np.zeros(k, dtype=np.int64)
    for v in range(len(assign)):
        t[assign[v]] += c_int[v]
        for j in range(1, k):
            m.AddHint(y[v][j], bool(assign[v] >= j))
    for j in range(k):
        excess = max(0, int(w_int[assign == j].sum()) - mem_int)
        m.AddHint(streams[j], excess)
        t[j] += excess
    for (u, j), var in r.items():
        val = bool(assign[u] < j and any(assign[v] == j for v in consumers[u]))
        m.AddHint(var, val)
        t[j] += int(a_int[u]) * val
    for j in range(k):
        m.AddHint(stage_terms[j], int(t[j]))
    m.AddHint(t_big, int(t.max()))


def _score(problem: PipelineProblem, assign: np.ndarray) -> float:
    from scheduler.pipeline.model import evaluate_batch

    return float(evaluate_batch(problem, assign[None, :])[0][0])


def _single_stage(problem: PipelineProblem, start: float) -> Partition:
    assign = np.zeros(problem.n_layers, dtype=np.int64)
    bott = _score(problem, assign)
    return make_partition(problem, assign, "exact", time.perf_counter() - start, "optimal", bott)
