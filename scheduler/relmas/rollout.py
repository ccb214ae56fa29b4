"""Run one trace period by period and record RELMAS experiences (s_t, a_t, r_t, s_t+1, done).

The loop drives :class:`~scheduler.sim.engine.Simulator` directly (like the Gym env) because an
experience needs two things a Gym step does not give: the *residual* RQ one period later (the SJs
of RQ_t still waiting, encoded with the new SA busy times: the paper's ``s_{t+1}``) and the final
finish time of every SJ of RQ_t (the reward equation's ``f_l``, known once the episode is over).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scheduler.relmas.codec import Codec
from scheduler.relmas.reward import RewardWeights, paper_reward
from scheduler.sim.encoding import decode_action
from scheduler.sim.engine import Simulator
from scheduler.sim.view import Decision, PeriodView
from scheduler.table import SimTable

# act(view, state) -> (action [n, G] stored in the experience, decision applied to the simulator)
ActFn = Callable[[PeriodView, np.ndarray], "tuple[np.ndarray, Decision]"]


@dataclass
class Episode:
    states: list[np.ndarray]
    actions: list[np.ndarray]
    rewards: np.ndarray
    next_states: list[np.ndarray]
    dones: np.ndarray
    sla: float
    sim: Simulator

    def __len__(self) -> int:
        return len(self.states)


def actor_act(agent_act: Callable[[np.ndarray], np.ndarray], codec: Codec | None = None) -> ActFn:
    """An :data:`ActFn` from ``state -> action`` (the decision is the action decoded by ``codec``;
    without one, the paper's direct decoding)."""

    def act(view: PeriodView, state: np.ndarray) -> tuple[np.ndarray, Decision]:
        a = agent_act(state)
        return a, (decode_action(view, a) if codec is None else codec.decode(view, a))

    return act


def teacher_act(policy, n_sa: int) -> ActFn:  # type: ignore[no-untyped-def]
    """An :data:`ActFn` that runs a heuristic ``policy`` and records the action encoding it.

    The recorded action has the teacher's execution order as evenly spaced priorities in
    [-0.9, 0.9] (first to run = 0.9) and +0.8 for the teacher's SA, −0.8 for the others: decoding
    it gives back the teacher's decision (for the encoded rows)."""

    def act(view: PeriodView, state: np.ndarray) -> tuple[np.ndarray, Decision]:
        d = policy.schedule(view)
        n = state.shape[0] - 1
        R = view.n_rq
        order = np.lexsort((np.arange(R), -np.asarray(d.priority, dtype=float)))
        rank = np.empty(R)
        rank[order] = np.arange(R)
        a = np.full((n, 1 + n_sa), -0.8, dtype=np.float32)
        a[:, 0] = 0.9 - 1.8 * rank[:n] / max(R - 1, 1)
        a[np.arange(n), 1 + np.asarray(d.sa)[:n]] = 0.8
        return a, d

    return act


def run_episode(
    table: SimTable,
    trace,  # type: ignore[no-untyped-def]
    period_s: float,
    codec: Codec,
    act: ActFn,
    weights: RewardWeights = RewardWeights(),
) -> Episode:
    """Simulate ``trace`` to the end with ``act`` deciding every non-empty period.

    ``codec`` encodes the states (and is reset first: the residual base is stateful)."""
    codec.reset(0)
    sim = Simulator(table, trace, policy=None, period_s=period_s)
    states: list[np.ndarray] = []
    actions: list[np.ndarray] = []
    nexts: list[np.ndarray] = []
    meta: list[tuple[float, np.ndarray]] = []
    view = sim.begin_period()
    while view is not None:
        if view.n_rq == 0:
            sim.run_period()
            view = sim.begin_period()
            continue
        state = codec.encode(view)
        a, decision = act(view, state)
        sim.apply_decision(view, decision)
        sim.run_period()
        nxt = sim.begin_period()
        encoded = view.rq_sj[: state.shape[0] - 1]
        if nxt is None:
            s2 = np.zeros((1, state.shape[1]), dtype=np.float32)
        else:
            s2 = codec.encode(nxt, rows=np.flatnonzero(np.isin(nxt.rq_sj, encoded)), truncate=False)
        states.append(state)
        actions.append(np.asarray(a, dtype=np.float32))
        nexts.append(s2)
        meta.append((view.now_s, view.rq_sj))
        view = nxt
    jobs = sim.jobs
    rewards = np.zeros(len(states))
    for i, (now, rq) in enumerate(meta):
        job = jobs.sj_job[rq]
        rewards[i] = paper_reward(now, period_s, sim.s_end[rq], jobs.arrival_s[job], jobs.deadline_s[job], weights)
    dones = np.zeros(len(states))
    if len(dones):
        dones[-1] = 1.0
    sla = float((sim.j_status == 2).sum() / max(jobs.n_jobs, 1))
    return Episode(states, actions, rewards, nexts, dones, sla, sim)
