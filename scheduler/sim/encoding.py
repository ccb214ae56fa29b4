"""The RELMAS state encoding and reward (DAC'24, Sec. 4), shared by the Gym env and RELMAS.

**State** (:func:`encode_rq`): a ``[1 + max_rq, F]`` float32 matrix with ``F = 4 + 2M`` and a
mask. Row 0 is the *primer*: zeros except the M compute-time slots, which hold each SA's
remaining busy time. Row ``1 + i`` encodes RQ entry ``i`` (RQ sorted by deadline):
``[model id, layer id, deadline − now, now − arrival, c_1..c_M, b_1..b_M]`` with ``c_m`` the
SJ's table latency on SA ``m`` and ``b_m`` its DRAM bandwidth need on SA ``m`` divided by the
DRAM capacity. Times are divided by ``time_scale_s`` (default: the scheduling period), so the
numbers are O(1). RQ entries past ``max_rq`` are not encoded (``mask`` marks the real rows).

**Action** (:func:`decode_action`): ``[max_rq, 1 + M]`` values in [-1, 1]: column 0 the
priority, columns 1..M the per-SA scores ``u_m``; the SA is ``argmax u_m``. RQ entries past
``max_rq`` run after all encoded ones, in RQ order, each on its fastest SA alone.

**Reward** (:func:`relmas_reward`): ``Σ_l Δ_l (A_l + γ (a_l + q_l − f_l) / q_l)`` over the SJs the
decision covered, with ``Δ = 1`` if the SJ finished within the period and ``δ`` otherwise,
``A = α`` if it finished by its job's deadline ``a_l + q_l`` and ``−β`` otherwise. An SJ not
finished by the period's end is scored with ``f_l`` = the period's end (its earliest possible
finish) and ``A = −β`` if its job was dropped, ``α`` otherwise. Paper coefficients:
α = 0.10, β = 0.11, γ = 0.05, δ = 0.01.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scheduler.sim.view import Decision, PeriodView


@dataclass(frozen=True)
class RewardWeights:
    """The RELMAS reward's weights, paper defaults: α = 0.10 (hit), β = 0.11 (miss), γ = 0.05 (slack), δ = 0.01 (beyond Ts).

    One record for the Gymnasium env's per-period reward and the RELMAS trainer's (``scheduler.relmas.reward``).
    """

    alpha: float = 0.10
    beta: float = 0.11
    gamma: float = 0.05
    delta: float = 0.01


def feature_size(n_sa: int) -> int:
    """F = 4 + 2M features per SJ."""
    return 4 + 2 * n_sa


def encode_rq(view: PeriodView, max_rq: int, time_scale_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(state [1 + max_rq, F] float32, mask [1 + max_rq] int8) for ``view`` (see module doc)."""
    M = view.n_sa
    scale = float(time_scale_s or view.period_s)
    F = feature_size(M)
    obs = np.zeros((1 + max_rq, F), dtype=np.float32)
    mask = np.zeros(1 + max_rq, dtype=np.int8)
    obs[0, 4 : 4 + M] = view.sa_busy_s / scale
    mask[0] = 1
    n = min(view.n_rq, max_rq)
    if n:
        rows = obs[1 : 1 + n]
        rows[:, 0] = view.rq_model[:n]
        rows[:, 1] = view.rq_layer[:n]
        rows[:, 2] = (view.rq_deadline_s[:n] - view.now_s) / scale
        rows[:, 3] = (view.now_s - view.rq_arrival_s[:n]) / scale
        rows[:, 4 : 4 + M] = view.lat_s[:n] / scale
        rows[:, 4 + M :] = view.bw_gbps[:n] / view.dram_gbps
        mask[1 : 1 + n] = 1
    return obs, mask


def decode_action(view: PeriodView, action: np.ndarray) -> Decision:
    """A :class:`Decision` from an action ``[max_rq, 1 + M]`` (see module doc)."""
    R, M = view.n_rq, view.n_sa
    action = np.asarray(action, dtype=float)
    n = min(R, action.shape[0])
    prio = np.empty(R)
    sa = np.empty(R, dtype=np.int64)
    prio[:n] = action[:n, 0]
    sa[:n] = np.argmax(action[:n, 1 : 1 + M], axis=1)
    if R > n:  # beyond the encoded window: after every encoded entry, fastest SA alone
        prio[n:] = -2.0 - np.arange(R - n) / (R - n)
        sa[n:] = np.argmin(view.solo_lat_s[n:], axis=1)
    return Decision(sa=sa, priority=prio)


def relmas_reward(view: PeriodView, sj_end_s: np.ndarray, job_dropped: np.ndarray, w: RewardWeights = RewardWeights()) -> float:
    """RELMAS reward of one period (see module doc); ``sj_end_s`` / ``job_dropped`` per RQ entry."""
    if view.n_rq == 0:
        return 0.0
    end = view.now_s + view.period_s
    done = ~np.isnan(sj_end_s) & (sj_end_s <= end)
    f = np.where(done, sj_end_s, end)
    deadline = view.rq_deadline_s
    q = np.maximum(deadline - view.rq_arrival_s, 1e-12)
    hit = np.where(done, f <= deadline, ~job_dropped)
    A = np.where(hit, w.alpha, -w.beta)
    D = np.where(done, 1.0, w.delta)
    return float(np.sum(D * (A + w.gamma * (deadline - f) / q)))
