"""Train the learned partitioner by imitation of exact solutions on synthetic DAGs.

1. :func:`generate_dataset`: random layered DAGs (:mod:`scheduler.pipeline.synthetic`) solved by
   CP-SAT (:func:`~scheduler.pipeline.exact.solve_exact`, one worker, a *deterministic* time
   limit, so the labels repeat exactly).
2. :func:`teacher_tensors`: the decoder's inputs along the exact solution (teacher forcing):
   static features, the dynamic features of every (layer, stage) given the optimal stages of
   the layers before it, the precedence mask and the optimal stage as the label.
3. :func:`train_policy`: Adam on the masked cross-entropy, graphs batched with padding.
4. optional policy-gradient fine-tuning (:func:`finetune_reinforce`): REINFORCE with the greedy
   rollout as baseline, reward = -(bottleneck / T_ref).

The metrics saved with the model (``val_mean_gap``, ``val_within_3pct``) score the *bare* policy
(best of its greedy and 15 sampled rollouts, no boundary refinement) against the exact labels of
the held-out synthetic graphs.

The same seed gives the same model (torch runs single-threaded here; CP-SAT labels are
deterministic), so ``mascot pipeline train --seed 0`` rebuilds the shipped file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mascot.ui import progress
from scheduler.pipeline.exact import solve_exact
from scheduler.pipeline.heuristic import solve_latency_balanced
from scheduler.pipeline.learned import (
    K_MAX, N_DYNAMIC, DecodeState, PartitionPolicy, PolicyConfig, rollout, save_policy, static_features,
)
from scheduler.pipeline.model import PipelineProblem, best_index, evaluate_batch
from scheduler.pipeline.synthetic import random_problems


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    graphs: int = 600
    min_layers: int = 10
    max_layers: int = 80
    stage_choices: tuple[int, ...] = (2, 3, 4, 5, 6)
    exact_limit: float = 20.0  # deterministic-time units per CP-SAT solve
    epochs: int = 40
    batch: int = 16
    lr: float = 2e-3
    val_fraction: float = 0.15
    reinforce_steps: int = 0
    reinforce_samples: int = 8
    hidden: int = 64  # encoder LSTM width (per direction)
    mlp: int = 64  # scorer MLP width: the decoder's cost is mostly this MLP, run per layer and rollout


@dataclass(frozen=True)
class Sample:
    problem: PipelineProblem
    target: np.ndarray
    t_ref: float


def generate_dataset(cfg: TrainConfig, show_progress: bool = True) -> list[Sample]:
    """Synthetic problems with their exact solutions (the imitation targets)."""
    problems = random_problems(cfg.seed, cfg.graphs, (cfg.min_layers, cfg.max_layers), cfg.stage_choices)
    out = []
    with progress(disable=not show_progress) as bar:
        task = bar.add_task("exact labels", total=len(problems), status="")
        for p in problems:
            sol = solve_exact(p, time_limit_s=cfg.exact_limit, workers=1, seed=cfg.seed, deterministic=True)
            out.append(Sample(p, sol.assign, solve_latency_balanced(p).bottleneck_s))
            bar.update(task, advance=1, status=sol.status)
    return out


def teacher_tensors(sample: Sample) -> dict[str, np.ndarray]:
    """Inputs and labels of one graph along its target assignment (stage axis padded to K_MAX)."""
    p, t_ref = sample.problem, max(sample.t_ref, 1e-12)
    n, k = p.n_layers, p.n_stages
    state = DecodeState(p, 1, t_ref)
    dyn = np.zeros((n, K_MAX, N_DYNAMIC), dtype=np.float32)
    mask = np.zeros((n, K_MAX), dtype=bool)
    for v in range(n):
        f, m, marg = state.step_features(v)
        dyn[v, :k] = f[0]
        mask[v, :k] = m[0]
        state.apply(v, sample.target[v: v + 1], marg)
    return {"static": static_features(p, t_ref), "dyn": dyn, "mask": mask, "label": sample.target.astype(np.int64)}


def _collate(items: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    g = len(items)
    n = max(it["static"].shape[0] for it in items)
    static = torch.zeros(g, n, items[0]["static"].shape[1])
    dyn = torch.zeros(g, n, K_MAX, N_DYNAMIC)
    mask = torch.zeros(g, n, K_MAX, dtype=torch.bool)
    label = torch.full((g, n), -100, dtype=torch.long)
    lengths = torch.zeros(g, dtype=torch.long)
    for i, it in enumerate(items):
        m = it["static"].shape[0]
        static[i, :m] = torch.from_numpy(it["static"])
        dyn[i, :m] = torch.from_numpy(it["dyn"])
        mask[i, :m] = torch.from_numpy(it["mask"])
        label[i, :m] = torch.from_numpy(it["label"])
        lengths[i] = m
    mask[label < 0, 0] = True  # padded rows: keep the softmax finite (their loss is ignored)
    return {"static": static, "dyn": dyn, "mask": mask, "label": label, "lengths": lengths}


def _loss(policy: PartitionPolicy, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    proj = policy.encode(batch["static"], batch["lengths"])
    logits = policy.score(proj, batch["dyn"]).masked_fill(~batch["mask"], -1e9)
    return nn.functional.cross_entropy(logits.reshape(-1, K_MAX), batch["label"].reshape(-1), ignore_index=-100)


def evaluate_gaps(policy: PartitionPolicy, samples: list[Sample], rollouts: int = 15, seed: int = 0) -> np.ndarray:
    """Relative bottleneck gap of the learned solver to the exact label on each sample."""
    gaps = []
    policy.eval()
    for s in samples:
        assigns = rollout(policy, s.problem, samples=rollouts, seed=seed, t_ref=s.t_ref)
        bott, total = evaluate_batch(s.problem, assigns)
        learned = bott[best_index(bott, total)]
        exact = evaluate_batch(s.problem, s.target[None])[0][0]
        gaps.append(learned / exact - 1.0)
    return np.asarray(gaps)


def train_policy(samples: list[Sample], cfg: TrainConfig, show_progress: bool = True) -> tuple[PartitionPolicy, dict]:
    """Imitation learning on ``samples`` (a fixed split holds out ``val_fraction`` of them)."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(len(samples))
    n_val = max(1, int(len(samples) * cfg.val_fraction))
    val = [samples[i] for i in order[:n_val]]
    train = [samples[i] for i in order[n_val:]]
    tensors = [teacher_tensors(s) for s in train]
    val_tensors = _collate([teacher_tensors(s) for s in val])
    policy = PartitionPolicy(PolicyConfig(hidden=cfg.hidden, mlp=cfg.mlp))
    opt = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    history = []
    with progress(disable=not show_progress) as bar:
        task = bar.add_task("imitation", total=cfg.epochs, status="")
        for epoch in range(cfg.epochs):
            policy.train()
            perm = rng.permutation(len(tensors))
            losses = []
            for i in range(0, len(perm), cfg.batch):
                batch = _collate([tensors[j] for j in perm[i: i + cfg.batch]])
                loss = _loss(policy, batch)
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
                opt.step()
                losses.append(float(loss.detach()))
            sched.step()
            policy.eval()
            with torch.no_grad():
                val_loss = float(_loss(policy, val_tensors))
            history.append({"epoch": epoch, "train_loss": float(np.mean(losses)), "val_loss": val_loss})
            bar.update(task, advance=1, status=f"loss {np.mean(losses):.3f} val {val_loss:.3f}")
    if cfg.reinforce_steps:
        finetune_reinforce(policy, train, cfg, show_progress)
    gaps = evaluate_gaps(policy, val, seed=cfg.seed)
    metrics = {"val_graphs": len(val), "train_graphs": len(train), "val_mean_gap": float(gaps.mean()),
               "val_within_3pct": float((gaps <= 0.03).mean()), "history": history}
    return policy, metrics


def finetune_reinforce(policy: PartitionPolicy, samples: list[Sample], cfg: TrainConfig,
                       show_progress: bool = True) -> None:
    """REINFORCE on the objective, greedy rollout as baseline (torch re-scores sampled rollouts)."""
    rng = np.random.default_rng(cfg.seed + 1)
    opt = torch.optim.Adam(policy.parameters(), lr=cfg.lr / 10)
    with progress(disable=not show_progress) as bar:
        task = bar.add_task("reinforce", total=cfg.reinforce_steps, status="")
        for step in range(cfg.reinforce_steps):
            s = samples[int(rng.integers(len(samples)))]
            policy.eval()
            assigns = rollout(policy, s.problem, samples=cfg.reinforce_samples, seed=int(rng.integers(2**31)),
                              t_ref=s.t_ref)
            bott, _ = evaluate_batch(s.problem, assigns)
            adv = -(bott[1:] - bott[0]) / max(s.t_ref, 1e-12)
            if not np.any(adv):
                bar.update(task, advance=1)
                continue
            policy.train()
            logp = torch.stack([_log_prob(policy, s, a) for a in assigns[1:]])
            loss = -(torch.from_numpy(adv).float() * logp).mean()
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
            opt.step()
            bar.update(task, advance=1, status=f"adv {adv.mean():+.3f}")


def _log_prob(policy: PartitionPolicy, s: Sample, assign: np.ndarray) -> torch.Tensor:
    t = teacher_tensors(Sample(s.problem, assign, s.t_ref))
    batch = _collate([t])
    proj = policy.encode(batch["static"], batch["lengths"])
    logits = policy.score(proj, batch["dyn"]).masked_fill(~batch["mask"], -1e9)
    logp = torch.log_softmax(logits, dim=-1)[0]
    return logp.gather(1, batch["label"][0].clamp(min=0)[:, None]).sum()


def run_training(cfg: TrainConfig, out_path: str | Path, show_progress: bool = True) -> dict:
    """Dataset, imitation, optional fine-tuning, evaluation; saves the model to ``out_path``."""
    start = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        samples = generate_dataset(cfg, show_progress)
        labelled_s = time.perf_counter() - start
        policy, metrics = train_policy(samples, cfg, show_progress)
    finally:
        torch.set_num_threads(threads)
    metrics.update({"label_time_s": labelled_s, "train_time_s": time.perf_counter() - start,
                    "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.__dict__.items()}})
    save_policy(policy, out_path, {k: v for k, v in metrics.items() if k != "history"})
    return metrics
