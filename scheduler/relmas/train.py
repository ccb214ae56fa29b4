"""Training RELMAS: DDPG episodes over generated traces, with checkpoints and a learning curve.

One *episode* simulates one freshly drawn training trace of the scenario with the current actor
plus exploration noise, stores its experiences (rewards from the paper's equation once the
episode is over, :mod:`scheduler.relmas.rollout`) and then performs ``updates_per_step`` DDPG
updates per decision it took. ``steps`` counts DDPG updates (mini-batch gradient steps).

Beyond the paper (each can be switched off, ``bc_steps=0`` and ``critic_warmup=0`` give plain
DDPG from a random actor):

* **warm start by imitation**: ``bc_episodes`` traces are first scheduled by a heuristic teacher
  (``prema-h`` by default); the actor is fitted to the teacher's decisions (``bc_steps`` MSE
  updates) and these episodes also fill the replay buffer. DDPG then refines a sensible policy
  instead of exploring from a random one, which a 2-core CPU budget could not afford;
* **critic warm-up**: the first ``critic_warmup`` DDPG updates train only the critic, so the
  actor follows the gradient of a critic that already knows its policy's value;
* **TD3+BC actor loss** (``ddpg.bc_weight``, see :mod:`scheduler.relmas.ddpg`): keeps the actor
  near the buffer's actions while it climbs the critic;
* **residual formulation** (``mode="residual"``, :mod:`scheduler.relmas.codec`): the actor corrects
  a base heuristic (``base``, PREMA-H by default); its output layer starts at zero, so training
  starts *at* the base and the update-0 validation measures the base itself (no imitation needed:
  ``bc_*`` are ignored in this mode). With ``features="extended"`` the actor also sees the
  base's ranks, job lengths, slacks and PREMA's tokens (:mod:`scheduler.relmas.encoding`);
* **model selection**: every ``eval_every`` updates the greedy actor schedules ``eval_traces``
  held-out *validation* traces per QoS level of ``eval_qos`` (their own seed space, never the
  evaluation's); the actor with the best validation SLA satisfaction is the one written to the
  output file (a later actor must beat the best so far strictly, so the warm start is kept when
  fine-tuning does not beat it).

``checkpoint_every`` updates (and at the end) the whole trainer state (networks, targets,
optimisers, replay buffer, RNG states, counters, curve) goes to ``<output>.ckpt``; ``resume``
continues from it and reproduces the uninterrupted run bit for bit.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from mascot.errors import MascotError
from scheduler.relmas.ddpg import DDPGAgent, DDPGConfig, ReplayBuffer
from scheduler.relmas.codec import MODES, Codec, ResidualSpec
from scheduler.relmas.encoding import Encoder
from scheduler.relmas.policy import RelmasPolicy, save_policy
from scheduler.relmas.reward import RewardWeights
from scheduler.relmas.rollout import ActFn, Episode, actor_act, run_episode, teacher_act
from scheduler.relmas.scenarios import QOS_LEVELS, TRAIN_SEED_BASE, VALIDATION_SEED_BASE, Scenario
from scheduler.sim.engine import Simulator
from scheduler.sim.view import Decision, PeriodView
from scheduler.table import SimTable

CKPT_FORMAT = "mascot.relmas.checkpoint"


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 2000
    seed: int = 0
    max_rq: int = 64
    updates_per_step: float = 0.5
    warmup_transitions: int = 256
    bc_episodes: int = 4
    bc_steps: int = 400
    bc_lr: float = 2e-3
    teacher: str = "prema-h"
    critic_warmup: int = 200
    eval_every: int = 250
    eval_traces: int = 2
    checkpoint_every: int = 500
    noise_decay_updates: int = 2000  # σ goes linearly from noise_std to noise_std_final over these
    threads: int = 1
    mode: str = "direct"  # "direct": the paper's decoding; "residual": correct `base` (ours)
    features: str = "paper"  # "paper": F = 4 + 2M; "extended": + 5 columns (ours)
    base: str = "prema-h"
    prio_scale: float = 0.5
    sa_bonus: float = 0.75
    eval_qos: str = "medium"  # comma-separated QoS levels of the validation traces (or "all")
    select_margin: float = 0.0  # a later actor replaces the best one only if its validation SLA is higher by more
    max_wall_s: float = 0.0  # > 0: stop (checkpoint, outputs) after this much wall time, whatever `steps` says
    job_noise: bool = False  # residual: one priority-noise draw per job (see Trainer._explore), not per SJ
    reward: RewardWeights = field(default_factory=RewardWeights)
    ddpg: DDPGConfig = field(default_factory=DDPGConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    curve: pd.DataFrame
    best_val_sla: float
    updates: int
    episodes: int
    wall_s: float
    output: Path | None


class Trainer:
    """Holds everything a run needs; :meth:`run` trains up to ``config.steps`` updates."""

    def __init__(self, table: SimTable, scenario: Scenario, config: TrainConfig = TrainConfig(), output: str | Path | None = None) -> None:
        if config.steps < 0:
            raise MascotError(f"--steps must be >= 0, got {config.steps}")
        if config.max_rq < 1:
            raise MascotError(f"max_rq must be >= 1, got {config.max_rq}")
        self.table, self.scenario, self.config = table, scenario, config
        self.output = Path(output) if output is not None else None
        if config.mode not in MODES:
            raise MascotError(f"unknown RELMAS mode {config.mode!r}", hint=f"use one of {', '.join(MODES)}")
        self.encoder = Encoder(models=tuple(table.models), n_sa=table.n_sa, time_scale_s=scenario.period_s, features=config.features)
        self.residual = ResidualSpec(config.base, config.prio_scale, config.sa_bonus) if config.mode == "residual" else None
        self.codec = Codec(self.encoder, config.max_rq, config.mode, self.residual)
        torch.manual_seed(config.seed)
        self.agent = DDPGAgent(self.encoder.n_features, self.encoder.n_actions, config.ddpg)
        if self.residual is not None:  # start exactly at the base heuristic (zero correction)
            with torch.no_grad():
                self.agent.actor.fc2.weight.zero_()
                self.agent.actor.fc2.bias.zero_()
            self.agent.sync_targets()
        self.buffer = ReplayBuffer(config.ddpg.buffer_size)
        self.rng = np.random.default_rng(config.seed)
        self.updates = 0
        self.episodes = 0
        self.pending = 0  # updates owed by the last episode
        self.bc_done = False
        self.curve: list[dict[str, Any]] = []
        self.best_val = -1.0
        self.best_actor: dict[str, torch.Tensor] | None = None
        self.last_losses: dict[str, float] = {}
        self.last_return = float("nan")
        self.last_train_sla = float("nan")
        levels = QOS_LEVELS if config.eval_qos.strip() == "all" else tuple(q.strip() for q in config.eval_qos.split(",") if q.strip())
        bad = sorted(set(levels) - set(QOS_LEVELS) - {"mixed"})
        if bad or not levels:
            raise MascotError(f"unknown validation QoS level(s) {bad or config.eval_qos!r}", hint="use low, medium, high, mixed or all")
        self.val_traces = [replace(scenario, qos=q).trace(VALIDATION_SEED_BASE + i) for q in levels for i in range(config.eval_traces)]
        self.reference: dict[str, float] = {}

    # --- pieces -------------------------------------------------------------------------------
    @property
    def ckpt_path(self) -> Path | None:
        return None if self.output is None else self.output.with_name(self.output.name + ".ckpt")

    def _noise(self) -> float:
        c = self.config.ddpg
        frac = min(self.updates / max(self.config.noise_decay_updates, 1), 1.0)
        return c.noise_std + (c.noise_std_final - c.noise_std) * frac

    def _explore(self) -> ActFn:
        """The acting function of a training episode: the actor plus clipped Gaussian noise of σ = :meth:`_noise`.

        With ``job_noise`` (residual mode), the priority column gets one draw per *job*, shared by its
        encoded SJs. Why: the residual decoder moves a job by the mean of its SJs' priority outputs,
        so i.i.d. per-SJ noise shrinks by √(SJs of the job) before it acts: a YOLOv2 or InceptionV3 job
        has 30-120 SJs in the queue, σ = 0.1 became a key shift of ~0.005 against a spacing of 0.2-0.5
        between neighbouring jobs, and the heavy / mixed runs never tried another job order (their
        validation never left PREMA-H's). Per-job noise shifts a job's key by ``prio_scale × σ``.
        """
        if not (self.config.job_noise and self.residual is not None):
            return actor_act(lambda s: self.agent.act(s, self._noise(), self.rng), self.codec)

        def act(view: PeriodView, state: np.ndarray) -> tuple[np.ndarray, Decision]:
            a = self.agent.act(state)
            sigma = self._noise()
            if sigma > 0 and a.size:
                noise = self.rng.normal(0.0, sigma, size=a.shape)
                _, job = np.unique(view.rq_job[: a.shape[0]], return_inverse=True)
                noise[:, 0] = self.rng.normal(0.0, sigma, size=int(job.max()) + 1)[job]
                a = np.clip(a + noise.astype(np.float32), -1.0, 1.0)
            return a, self.codec.decode(view, a)

        return act

    def _episode(self, act: Callable) -> Episode:  # type: ignore[type-arg]
        trace = self.scenario.trace(TRAIN_SEED_BASE + 100_000 * self.config.seed + self.episodes)
        ep = run_episode(self.table, trace, self.scenario.period_s, self.codec, act, self.config.reward)
        self.episodes += 1
        for i in range(len(ep)):
            self.buffer.add(ep.states[i], ep.actions[i], ep.rewards[i], ep.next_states[i], bool(ep.dones[i]))
        self.last_return = float(ep.rewards.sum())
        self.last_train_sla = ep.sla
        return ep

    def validate(self, actor: torch.nn.Module | None = None) -> float:
        """Mean SLA satisfaction of the greedy actor on the validation traces."""
        policy = RelmasPolicy(copy.deepcopy(actor or self.agent.actor), self.encoder, self.config.max_rq,
                              mode=self.config.mode, residual=self.residual)
        return float(np.mean([Simulator(self.table, t, policy, self.scenario.period_s).run().sla_satisfaction for t in self.val_traces]))

    def reference_slas(self, names: tuple[str, ...] = ("random",)) -> dict[str, float]:
        """Validation SLA of registry policies (the curve's reference lines)."""
        from scheduler.policies import get_policy

        for n in names:
            if n not in self.reference:
                self.reference[n] = float(np.mean([
                    Simulator(self.table, t, get_policy(n), self.scenario.period_s, seed=0).run().sla_satisfaction for t in self.val_traces
                ]))
        return self.reference

    def warm_start(self) -> None:
        """Teacher episodes into the buffer, then fit the actor to the teacher's actions."""
        c = self.config
        from scheduler.policies import get_policy

        if self.residual is not None:  # the zero-initialised residual already is the base policy
            self.bc_done = True
            return
        data_s: list[np.ndarray] = []
        data_a: list[np.ndarray] = []
        for _ in range(c.bc_episodes):
            teacher = get_policy(c.teacher)
            teacher.reset(0)
            ep = self._episode(teacher_act(teacher, self.table.n_sa))
            data_s += ep.states
            data_a += ep.actions
        if data_s and c.bc_steps:
            from scheduler.relmas.ddpg import mask_actions, pad_actions, pad_states

            opt = torch.optim.Adam(self.agent.actor.parameters(), lr=c.bc_lr)
            for _ in range(c.bc_steps):
                idx = self.rng.integers(0, len(data_s), size=c.ddpg.batch_size)
                s, n = pad_states([data_s[i] for i in idx])
                a = pad_actions([data_a[i] for i in idx], s.shape[1] - 1, self.encoder.n_actions)
                pred = mask_actions(self.agent.actor(s), n)
                loss = torch.nn.functional.mse_loss(pred, a, reduction="sum") / max(int(n.sum()), 1)
                opt.zero_grad()
                loss.backward()
                opt.step()
            self.agent.sync_targets()
        self.bc_done = True

    def _record(self, wall_s: float) -> None:
        val = self.validate()
        if self.best_actor is None or val > self.best_val + self.config.select_margin:
            self.best_val = val
            self.best_actor = {k: v.detach().clone() for k, v in self.agent.actor.state_dict().items()}
        self.curve.append({
            "updates": self.updates, "episodes": self.episodes, "transitions": len(self.buffer),
            "train_return": self.last_return, "train_sla": self.last_train_sla, "val_sla": val,
            "best_val_sla": self.best_val, "critic_loss": self.last_losses.get("critic_loss", np.nan),
            "actor_loss": self.last_losses.get("actor_loss", np.nan), "q_mean": self.last_losses.get("q_mean", np.nan),
            "noise_std": self._noise(), "wall_s": wall_s,
        })
        if self.output is not None:  # the curve so far, readable while a long run goes on
            from mascot.io import write_frame

            write_frame(pd.DataFrame(self.curve), self.output.with_suffix(".curve.csv"))

    # --- persistence --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "format": CKPT_FORMAT, "config": self.config.to_dict(), "scenario": asdict(self.scenario),
            "encoder": self.encoder.to_dict(), "agent": self.agent.state_dict(), "buffer": self.buffer.state_dict(),
            "rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "updates": self.updates,
            "episodes": self.episodes, "pending": self.pending, "bc_done": self.bc_done, "curve": list(self.curve),
            "best_val": self.best_val, "best_actor": self.best_actor, "last_losses": dict(self.last_losses),
            "last_return": self.last_return, "last_train_sla": self.last_train_sla, "reference": dict(self.reference),
        }

    def load_state_dict(self, d: dict[str, Any]) -> None:
        self.agent.load_state_dict(d["agent"])
        self.buffer.load_state_dict(d["buffer"])
        self.rng.bit_generator.state = d["rng"]
        torch.set_rng_state(d["torch_rng"])
        for k in ("updates", "episodes", "pending", "bc_done", "curve", "best_val", "best_actor", "last_losses",
                  "last_return", "last_train_sla", "reference"):
            setattr(self, k, d[k])

    def save_checkpoint(self) -> Path | None:
        if self.ckpt_path is None:
            return None
        from mascot.io import atomic_write

        state = self.state_dict()
        return atomic_write(self.ckpt_path, lambda p: torch.save(state, p))

    def load_checkpoint(self) -> bool:
        p = self.ckpt_path
        if p is None or not p.is_file():
            return False
        try:
            d = torch.load(p, map_location="cpu", weights_only=False)  # our own file: numpy RNG state inside
        except Exception as exc:
            raise MascotError(f"cannot read checkpoint: {exc}", path=p, hint="delete it to start afresh") from None
        if not isinstance(d, dict) or d.get("format") != CKPT_FORMAT:
            raise MascotError("not a RELMAS training checkpoint", path=p)
        if d["scenario"] != asdict(self.scenario) or d["encoder"] != self.encoder.to_dict():
            raise MascotError("the checkpoint was made for another scenario or table", path=p, hint="use the same options, or another -o")
        same = {k: v for k, v in self.config.to_dict().items() if k not in ("steps", "eval_every", "checkpoint_every", "threads", "max_wall_s")}
        defaults = TrainConfig().to_dict()  # options added since the checkpoint was written had their default
        theirs = {k: d["config"].get(k, defaults[k]) for k in same}
        if same != theirs:
            diff = sorted(k for k in same if same[k] != theirs.get(k))
            raise MascotError(f"the checkpoint was trained with other options ({', '.join(diff)})", path=p,
                              hint="resume with the same options, or start afresh with another -o")
        self.load_state_dict(d)
        return True

    def best_update(self) -> int | None:
        """The update whose actor is the best validated one (0 = the warm start / the residual's base)."""
        for row in self.curve:
            if row["best_val_sla"] == self.best_val:
                return int(row["updates"])
        return None

    def save_outputs(self) -> None:
        """Policy file (the best validated actor), learning curve CSV and PNG."""
        if self.output is None:
            return
        from mascot.io import write_frame

        actor = copy.deepcopy(self.agent.actor)
        if self.best_actor is not None:
            actor.load_state_dict(self.best_actor)
        meta = {"scenario": asdict(self.scenario), "system": self.table.platform.system_name, "updates": self.updates,
                "best_val_sla": self.best_val, "best_update": self.best_update(), "train_config": self.config.to_dict()}
        save_policy(self.output, actor, self.encoder, self.config.max_rq, meta, self.config.mode, self.residual)
        curve = pd.DataFrame(self.curve)
        if len(curve):
            write_frame(curve, self.output.with_suffix(".curve.csv"))
            plot_curve(curve, self.output.with_suffix(".curve.png"), self.reference, title=f"RELMAS {self.scenario.name}")

    # --- the loop -----------------------------------------------------------------------------
    def run(self, resume: bool = False, progress: Callable[[int, dict[str, Any]], None] | None = None) -> TrainResult:
        c = self.config
        torch.set_num_threads(max(1, c.threads))
        t0 = time.perf_counter()
        resumed = self.load_checkpoint() if resume else False
        if not resumed:
            refs = ("random", c.base) if self.residual is not None else (("random", c.teacher) if c.bc_episodes else ("random",))
            self.reference_slas(refs)
            if c.bc_episodes or c.bc_steps:
                self.warm_start()
            self._record(0.0)
        last_ckpt = self.updates // max(c.checkpoint_every, 1)
        while self.updates < c.steps:
            if c.max_wall_s > 0 and time.perf_counter() - t0 > c.max_wall_s:
                if not self.curve or self.curve[-1]["updates"] != self.updates:
                    self._record(time.perf_counter() - t0)  # the last actor gets its validation too
                break
            if self.pending == 0:
                ep = self._episode(self._explore())
                if len(self.buffer) < max(c.warmup_transitions, c.ddpg.batch_size):
                    continue
                self.pending = max(1, int(round(len(ep) * c.updates_per_step)))
            while self.pending > 0 and self.updates < c.steps:
                batch = self.buffer.sample(self.rng, c.ddpg.batch_size)
                self.last_losses = self.agent.update(batch, train_actor=self.updates >= c.critic_warmup)
                self.updates += 1
                self.pending -= 1
                if self.updates % max(c.eval_every, 1) == 0:
                    self._record(time.perf_counter() - t0)
                if progress is not None:
                    progress(self.updates, {"val": self.best_val, "sla": self.last_train_sla})
            if self.updates // max(c.checkpoint_every, 1) > last_ckpt:
                last_ckpt = self.updates // max(c.checkpoint_every, 1)
                self.save_checkpoint()
        self.save_checkpoint()
        self.save_outputs()
        return TrainResult(pd.DataFrame(self.curve), self.best_val, self.updates, self.episodes, time.perf_counter() - t0, self.output)


def plot_curve(curve: pd.DataFrame, path: Path, reference: dict[str, float], title: str = "RELMAS") -> Path:
    """Validation SLA (and the training episodes' SLA) against DDPG updates, with reference lines."""
    from mascot.plotting import pyplot, save_png

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(curve["updates"], curve["val_sla"], marker="o", label="RELMAS (validation)")
    ax.plot(curve["updates"], curve["train_sla"], alpha=0.5, label="training episode (with noise)")
    for i, (name, v) in enumerate(sorted(reference.items())):
        ax.axhline(v, ls="--", color=f"C{i + 2}", label=name)
    ax.set_xlabel("DDPG updates")
    ax.set_ylabel("SLA satisfaction")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title)
    ax.legend(fontsize=8)
    save_png(fig, path)
    return path


def config_from(**kw: Any) -> TrainConfig:
    """A :class:`TrainConfig` from flat keyword options (DDPG and reward fields included)."""
    ddpg_keys = {f.name for f in fields(DDPGConfig)}
    rew_keys = {f.name for f in fields(RewardWeights)}
    top = {k: v for k, v in kw.items() if k not in ddpg_keys | rew_keys and v is not None}
    ddpg = DDPGConfig(**{k: v for k, v in kw.items() if k in ddpg_keys and v is not None})
    rew = RewardWeights(**{k: v for k, v in kw.items() if k in rew_keys and v is not None})
    return TrainConfig(**top, ddpg=ddpg, reward=rew)
