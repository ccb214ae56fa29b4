"""One entry point for every solver: ``solve(problem, "exact" | "heuristic" | "balanced" | "learned")``."""

from __future__ import annotations

from pathlib import Path

from mascot.errors import MascotError
from scheduler.pipeline.model import Partition, PipelineProblem

SOLVERS: tuple[str, ...] = ("exact", "heuristic", "balanced", "learned")


def solve(problem: PipelineProblem, solver: str, time_limit_s: float = 60.0, workers: int = 2, seed: int = 0,
          samples: int = 15, weights: str | Path | None = None) -> Partition:
    """Partition ``problem`` with the named solver.

    ``time_limit_s`` / ``workers`` apply to ``exact``; ``samples`` / ``seed`` / ``weights`` (a
    trained model file, default the shipped one) to ``learned``.
    """
    if solver in SOLVERS:
        # every solver runs the compiled DP kernels (the exact one for its hint): compile or load
        # them before any solver starts its clock, so that no solver pays the one-off
        from scheduler.pipeline.dp_kernels import warm_up

        warm_up()
    if solver == "exact":
        from scheduler.pipeline.exact import solve_exact

        return solve_exact(problem, time_limit_s=time_limit_s, workers=workers, seed=seed)
    if solver == "heuristic":
        from scheduler.pipeline.heuristic import solve_param_balanced

        return solve_param_balanced(problem)
    if solver == "balanced":
        from scheduler.pipeline.heuristic import solve_latency_balanced

        return solve_latency_balanced(problem)
    if solver == "learned":
        from scheduler.pipeline.learned import load_policy, solve_learned

        policy = load_policy(weights)[0] if weights else None
        return solve_learned(problem, policy=policy, samples=samples, seed=seed)
    raise MascotError(f"unknown solver {solver!r}", hint=f"use one of: {', '.join(SOLVERS)}")
