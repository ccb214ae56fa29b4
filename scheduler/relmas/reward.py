"""The RELMAS reward (paper Sec. 4.2), evaluated on the SJs' *actual* finish times.

    r_t = Σ_{l ∈ RQ_t} Δ_{t,l} ( A_{t,l} + γ ((a_l + q_l) − f_l) / q_l )
    Δ_{t,l} = 1 if f_l < t + Ts else δ
    A_{t,l} = α if f_l ≤ a_l + q_l else −β

``a_l`` is the arrival of SJ l's job, ``q_l`` its latency requirement (so ``a_l + q_l`` is the
deadline) and ``f_l`` the SJ's finish time. The equation needs ``f_l`` even for SJs that finish
after the period (that is what δ weighs), so the trainer scores a period once the episode is over
and every SJ of ``RQ_t`` has either finished or been dropped. One convention is ours, because the
paper does not say: an SJ that never runs (its job was dropped at its deadline) gets
``f_l = a_l + q_l`` for the slack and Δ (the miss becomes certain at the deadline) and
``A = −β`` (it is not a hit). The env's per-period variant
(:func:`scheduler.sim.encoding.relmas_reward`) instead scores unfinished SJs at the period's end,
because a Gym step cannot see the future.
"""

from __future__ import annotations

import numpy as np

from scheduler.sim.encoding import RewardWeights

__all__ = ["RewardWeights", "paper_reward"]


def paper_reward(
    now_s: float,
    period_s: float,
    finish_s: np.ndarray,
    arrival_s: np.ndarray,
    deadline_s: np.ndarray,
    w: RewardWeights = RewardWeights(),
) -> float:
    """r_t for one period: one entry per SJ of RQ_t; ``finish_s`` NaN = the SJ never ran (dropped)."""
    finish = np.asarray(finish_s, dtype=float)
    if finish.size == 0:
        return 0.0
    deadline = np.asarray(deadline_s, dtype=float)
    q = np.maximum(deadline - np.asarray(arrival_s, dtype=float), 1e-15)
    ran = ~np.isnan(finish)
    f = np.where(ran, finish, deadline)
    A = np.where(ran & (f <= deadline), w.alpha, -w.beta)
    D = np.where(f < now_s + period_s, 1.0, w.delta)
    return float(np.sum(D * (A + w.gamma * (deadline - f) / q)))
