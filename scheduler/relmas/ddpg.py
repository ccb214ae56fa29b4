"""DDPG (Lillicrap et al. 2015) for variable-length RELMAS states: buffer, targets, soft updates.

Experiences are ``(s_t, a_t, r_t, s_{t+1}, done)`` where ``s_t`` is the ``[1 + n, F]`` state (primer
+ n RQ rows), ``a_t`` the ``[n, G]`` action actually applied (noise included) and ``s_{t+1}`` the
encoding of the *residual* RQ only (the SJs of RQ_t still waiting one period later, with the new
SA busy times in the primer): the paper found that leaving the new arrivals out of ``s_{t+1}``
removes the stochastic part of the transition. Sequences of different lengths are right-padded in
a batch (the networks read each sequence's own last step).

Update (per mini-batch): critic to ``y = r + γ (1 − done) Q'(s', μ'(s'))`` by MSE; actor by
ascending ``Q(s, μ(s))``; both target networks follow by Polyak averaging with rate τ.
Exploration: Gaussian noise of standard deviation σ on every action value, clipped to [-1, 1].

``bc_weight = λ > 0`` (beyond the paper) switches the actor loss to TD3+BC's
``−λ Q(s, μ(s)) / mean|Q| + ‖μ(s) − a‖²`` with ``a`` the buffer's action: with a critic trained on
a few thousand transitions, plain DDPG drifted the warm-started actor to random-level schedules
within 200 updates (light set: validation SLA 0.65 → 0.16); the penalty keeps it near the data.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from scheduler.relmas.networks import Actor, Critic


@dataclass(frozen=True)
class DDPGConfig:
    hidden: int = 256
    actor_lr: float = 1e-4
    critic_lr: float = 1e-3
    discount: float = 0.9  # not given by the paper (one step = one scheduling period)
    tau: float = 0.005
    batch_size: int = 32
    buffer_size: int = 20_000
    grad_clip: float = 1.0
    noise_std: float = 0.2
    noise_std_final: float = 0.05
    reward_scale: float = 0.1  # rewards sum ~100 SJ terms of ±0.1: keep Q targets O(1-10)
    bc_weight: float = 0.0  # > 0: TD3+BC actor loss (ours, see DDPGAgent.update); 0 = the paper's DDPG


class ReplayBuffer:
    """A ring buffer of variable-length experiences (numpy arrays; the RNG is the trainer's)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = int(capacity)
        self.items: list[tuple[np.ndarray, np.ndarray, float, np.ndarray, float]] = []
        self.pos = 0

    def __len__(self) -> int:
        return len(self.items)

    def add(self, s: np.ndarray, a: np.ndarray, r: float, s2: np.ndarray, done: bool) -> None:
        item = (s.astype(np.float32), a.astype(np.float32), float(r), s2.astype(np.float32), float(done))
        if len(self.items) < self.capacity:
            self.items.append(item)
        else:
            self.items[self.pos] = item
        self.pos = (self.pos + 1) % self.capacity

    def sample(self, rng: np.random.Generator, batch: int) -> list[tuple]:
        idx = rng.integers(0, len(self.items), size=batch)
        return [self.items[i] for i in idx.tolist()]

    def state_dict(self) -> dict[str, Any]:
        return {"capacity": self.capacity, "items": self.items, "pos": self.pos}

    def load_state_dict(self, d: dict[str, Any]) -> None:
        self.capacity, self.items, self.pos = int(d["capacity"]), list(d["items"]), int(d["pos"])


def pad_states(states: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad ``[1 + n_i, F]`` states to ``[B, 1 + L, F]``; returns (tensor, n_i as long)."""
    lengths = np.array([s.shape[0] - 1 for s in states], dtype=np.int64)
    L = int(lengths.max()) if len(lengths) else 0
    F = states[0].shape[1]
    out = np.zeros((len(states), 1 + L, F), dtype=np.float32)
    for i, s in enumerate(states):
        out[i, : s.shape[0]] = s
    return torch.from_numpy(out), torch.from_numpy(lengths)


def pad_actions(actions: list[np.ndarray], L: int, G: int) -> torch.Tensor:
    out = np.zeros((len(actions), L, G), dtype=np.float32)
    for i, a in enumerate(actions):
        out[i, : a.shape[0]] = a
    return torch.from_numpy(out)


def mask_actions(actions: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Zero the padded steps (so they look like the zero actions stored for padding)."""
    L = actions.shape[1]
    keep = (torch.arange(L)[None, :] < lengths[:, None]).to(actions.dtype)
    return actions * keep[:, :, None]


class DDPGAgent:
    """Actor, critic, their targets and optimisers; :meth:`update` does one DDPG step."""

    def __init__(self, n_features: int, n_actions: int, config: DDPGConfig = DDPGConfig()) -> None:
        self.config = config
        self.n_features, self.n_actions = int(n_features), int(n_actions)
        self.actor = Actor(n_features, n_actions, config.hidden)
        self.critic = Critic(n_features, n_actions, config.hidden)
        self.actor_target = copy.deepcopy(self.actor)
        self.critic_target = copy.deepcopy(self.critic)
        for p in list(self.actor_target.parameters()) + list(self.critic_target.parameters()):
            p.requires_grad_(False)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=config.actor_lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=config.critic_lr)

    # --- acting -------------------------------------------------------------------------------
    @torch.no_grad()
    def act(self, state: np.ndarray, noise_std: float = 0.0, rng: np.random.Generator | None = None) -> np.ndarray:
        """Action ``[n, G]`` for one state ``[1 + n, F]`` (plus clipped Gaussian noise)."""
        a = self.actor(torch.from_numpy(state)[None])[0].numpy().astype(np.float32)
        if noise_std > 0 and rng is not None and a.size:
            a = np.clip(a + rng.normal(0.0, noise_std, size=a.shape).astype(np.float32), -1.0, 1.0)
        return a

    # --- learning -----------------------------------------------------------------------------
    def update(self, batch: list[tuple], train_actor: bool = True) -> dict[str, float]:
        """One DDPG step on a mini-batch of experiences; returns the losses."""
        c = self.config
        s, n = pad_states([b[0] for b in batch])
        a = pad_actions([b[1] for b in batch], s.shape[1] - 1, self.n_actions)
        r = torch.tensor([b[2] for b in batch], dtype=torch.float32) * c.reward_scale
        s2, n2 = pad_states([b[3] for b in batch])
        done = torch.tensor([b[4] for b in batch], dtype=torch.float32)
        with torch.no_grad():
            a2 = mask_actions(self.actor_target(s2), n2)
            y = r + c.discount * (1.0 - done) * self.critic_target(s2, a2, n2)
        q = self.critic(s, a, n)
        critic_loss = nn.functional.mse_loss(q, y)
        self.critic_opt.zero_grad()
        critic_loss.backward()
        nn.utils.clip_grad_norm_(self.critic.parameters(), c.grad_clip)
        self.critic_opt.step()
        out = {"critic_loss": float(critic_loss.item()), "q_mean": float(q.mean().item())}
        if train_actor:
            pi = mask_actions(self.actor(s), n)
            q_pi = self.critic(s, pi, n)
            if c.bc_weight > 0:  # TD3+BC (Fujimoto & Gu 2021): stay near the buffer's actions
                lam = c.bc_weight / q_pi.abs().mean().detach().clamp_min(1e-6)
                actor_loss = -lam * q_pi.mean() + ((pi - a) ** 2).sum() / n.sum().clamp_min(1)
            else:
                actor_loss = -q_pi.mean()
            self.actor_opt.zero_grad()
            actor_loss.backward()
            nn.utils.clip_grad_norm_(self.actor.parameters(), c.grad_clip)
            self.actor_opt.step()
            out["actor_loss"] = float(actor_loss.item())
        self.soft_update()
        return out

    def soft_update(self) -> None:
        tau = self.config.tau
        with torch.no_grad():
            for net, tgt in ((self.actor, self.actor_target), (self.critic, self.critic_target)):
                for p, pt in zip(net.parameters(), tgt.parameters()):
                    pt.mul_(1.0 - tau).add_(p, alpha=tau)

    def sync_targets(self) -> None:
        """Targets := online networks (after a warm start)."""
        self.actor_target.load_state_dict(self.actor.state_dict())
        self.critic_target.load_state_dict(self.critic.state_dict())

    # --- persistence --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "actor_target": self.actor_target.state_dict(),
            "critic_target": self.critic_target.state_dict(),
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
        }

    def load_state_dict(self, d: dict[str, Any]) -> None:
        for name in ("actor", "critic", "actor_target", "critic_target", "actor_opt", "critic_opt"):
            getattr(self, name).load_state_dict(d[name])
