"""Event-driven multi-tenant multi-accelerator simulator (see :mod:`scheduler.sim.engine`)."""

from scheduler.sim.engine import Simulator
from scheduler.sim.forecast import BatchForecaster, ForecastOutcome, sla_fitness
from scheduler.sim.jobs import QOS_LEVELS, JobSet
from scheduler.sim.metrics import SimResult
from scheduler.sim.view import Decision, PeriodView

__all__ = [
    "BatchForecaster",
    "Decision",
    "ForecastOutcome",
    "JobSet",
    "PeriodView",
    "QOS_LEVELS",
    "SimResult",
    "Simulator",
    "simulate",
    "sla_fitness",
]


def simulate(table, trace, policy, period_s: float, *, seed: int = 0, record_dram: bool = False, **policy_kw) -> SimResult:  # type: ignore[no-untyped-def]
    """One call: simulate ``trace`` on ``table`` under ``policy`` (a Policy or a registry name)."""
    if isinstance(policy, str):
        from scheduler.policies import get_policy

        policy = get_policy(policy, **policy_kw)
    return Simulator(table, trace, policy, period_s, seed=seed, record_dram=record_dram).run()
