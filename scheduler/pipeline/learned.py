"""The learned partitioner (RESPECT-style): a sequence model that imitates the exact solver.

Architecture
    *Encoder*: a bidirectional LSTM over the layers in topological order; each layer enters as
    a vector of scale-free static features (its compute, parameter and output-tensor sizes
    relative to a reference stage time and to the on-chip memory, its position in the cumulative
    compute and parameter profile, the activation bytes live across a cut right after it, ...).

    *Decoder*: walks the layers in the same order and emits the stage of each one. For layer
    ``v`` it scores every stage ``j`` with an MLP over ``[encoder state of v, dynamic features
    of (v, j)]``; the dynamic features describe the partial partition built so far (the stage
    times, what placing ``v`` in ``j`` would add in compute, parameter streaming and received
    activations, and by how much the bottleneck would grow). The *precedence mask* forbids every
    stage before the latest stage of ``v``'s predecessors, so every output is feasible; moving
    to a later stage than the current one is a stage boundary.

Decoding
    ``1 + samples`` rollouts in one numpy batch, split between a few scales of the normaliser
    (``T_ref × {1, 0.9, 0.8, 1.1}``: a smaller scale makes stages look fuller, so the policy cuts
    earlier); per scale one greedy rollout, the rest sampled (Gumbel-max, seeded). The best by
    the cost model (bottleneck, then total latency) is returned. Every candidate comes from the
    policy; the cost model only ranks them.

Reference time ``T_ref`` (the normaliser that makes features comparable between a 20-node
synthetic graph and a 700-layer DenseNet) is the bottleneck of the latency-balanced contiguous
cut (:func:`~scheduler.pipeline.heuristic.solve_latency_balanced`, milliseconds to compute).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mascot.errors import MascotError
from scheduler.pipeline.heuristic import solve_latency_balanced
from scheduler.pipeline.model import Partition, PipelineProblem, best_index, evaluate_batch, make_partition

K_MAX = 8
N_STATIC = 16
N_DYNAMIC = 17
DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "models" / "pipeline_policy.pt"


def _lg(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.clip(x, 0.0, 1e4))


def static_features(problem: PipelineProblem, t_ref: float) -> np.ndarray:
    """``(n, N_STATIC)`` scale-free features of every layer."""
    n, k = problem.n_layers, problem.n_stages
    mem = max(problem.param_mem_bytes, 1.0)
    c = problem.compute_time_s
    p = problem.param_bytes
    c_tot, p_tot = max(c.sum(), 1e-30), max(p.sum(), 1.0)
    out_t = problem.out_bytes / problem.link_bw_bytes_per_s
    host_t = problem.host_in_bytes / problem.link_bw_bytes_per_s
    indeg = np.zeros(n)
    outdeg = np.zeros(n)
    live = np.zeros(n + 1)
    e = problem.unique_out_edges
    if e.size:
        np.add.at(indeg, e[:, 1], 1)
        np.add.at(outdeg, e[:, 0], 1)
        last = np.full(n, -1)
        np.maximum.at(last, e[:, 0], e[:, 1])
        has = last >= 0
        u = np.nonzero(has)[0]
        # tensor of u is live across the cut after position i for u <= i < last[u]
        np.add.at(live, u, out_t[u])
        np.add.at(live, last[u], -out_t[u])
    live = np.cumsum(live)[:n]
    pre_c = (np.cumsum(c) - c) / c_tot
    pre_p = (np.cumsum(p) - p)
    f = np.stack([
        _lg(c / t_ref), _lg(p / mem), _lg(out_t / t_ref), _lg(host_t / t_ref),
        pre_c, pre_p / p_tot, np.clip(pre_p / (k * mem), 0, 10), np.arange(n) / n,
        np.log1p(indeg), np.log1p(outdeg), _lg(live / t_ref),
        np.full(n, 1.0 / k), np.full(n, min(p_tot / (k * mem), 10.0)), np.full(n, _lg(np.array(c_tot / k / t_ref))),
        pre_c * k, np.clip((p_tot - pre_p - p) / (k * mem), 0, 10),
    ], axis=1)
    return f.astype(np.float32)


class DecodeState:
    """The partial partitions of ``B`` rollouts, and their dynamic features (vectorised)."""

    def __init__(self, problem: PipelineProblem, batch: int, t_ref: float | np.ndarray):
        self.p = problem
        self.b = batch
        self.k = problem.n_stages
        # one normaliser per rollout (rollouts at several scales of T_ref see different fills)
        self.t_ref = np.broadcast_to(np.asarray(t_ref, dtype=np.float64).reshape(-1, 1), (batch, 1))
        n = problem.n_layers
        self.assign = np.zeros((batch, n), dtype=np.int64)
        self.load_c = np.zeros((batch, self.k))
        self.load_p = np.zeros((batch, self.k))
        self.recv = np.zeros((batch, self.k))
        self.received = np.zeros((batch, n, self.k), dtype=bool)
        self.opened = np.zeros(batch, dtype=np.int64)
        self.rem_c = problem.compute_time_s.sum() - np.cumsum(problem.compute_time_s)
        self.rem_p = problem.param_bytes.sum() - np.cumsum(problem.param_bytes)
        self.stages = np.arange(self.k)
        self.mem = problem.param_mem_bytes
        self.pbw = problem.param_bw_bytes_per_s
        self.lbw = problem.link_bw_bytes_per_s

    def _stage_t(self, load_c: np.ndarray, load_p: np.ndarray, recv: np.ndarray) -> np.ndarray:
        return load_c + np.maximum(load_p - self.mem, 0) / self.pbw + recv / self.lbw

    def step_features(self, v: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Dynamic features ``(B, k, N_DYNAMIC)``, mask ``(B, k)`` and marginal receive bytes."""
        preds = self.p.preds[v]
        k, t = self.k, self.t_ref
        if preds.size:
            sp = self.assign[:, preds]  # (B, P)
            minstage = sp.max(axis=1)
            later = sp[:, :, None] < self.stages[None, None, :]  # (B, P, k)
            fresh = ~self.received[:, preds, :]
            marg = np.einsum("bpk,p->bk", (later & fresh).astype(np.float64), self.p.out_bytes[preds])
        else:
            minstage = np.zeros(self.b, dtype=np.int64)
            marg = np.zeros((self.b, k))
        marg = marg + self.p.host_in_bytes[v]
        cur = self._stage_t(self.load_c, self.load_p, self.recv)
        pv = self.p.param_bytes[v]
        stream_delta = (np.maximum(self.load_p + pv - self.mem, 0) - np.maximum(self.load_p - self.mem, 0)) / self.pbw
        new = cur + self.p.compute_time_s[v] + stream_delta + marg / self.lbw
        cur_max = cur.max(axis=1, keepdims=True)
        inc = np.maximum(new, cur_max) - cur_max
        j = self.stages[None, :].repeat(self.b, 0)
        rel = j - minstage[:, None]
        rem = self.rem_c[v]
        rem_p = self.rem_p[v]
        left = np.maximum(k - j, 1)
        spread = (rem + np.maximum(rem_p - left * self.mem, 0) / self.pbw) / left
        f = np.stack([
            _lg(new / t), _lg(cur / t), _lg(inc / t), _lg(marg / self.lbw / t), _lg(stream_delta / t),
            np.clip(self.load_p / max(self.mem, 1.0), 0, 10), j / k, rel / k, (rel == 0).astype(float),
            (j == self.opened[:, None]).astype(float), (j > self.opened[:, None]).astype(float),
            _lg(rem / t / np.maximum(k - j, 1)), (k - 1 - j) / k, _lg(np.broadcast_to(rem / t, new.shape)),
            _lg(np.broadcast_to(cur_max / t, new.shape)),
            np.clip(rem_p / (left * max(self.mem, 1.0)), 0, 10), _lg(spread / t),
        ], axis=2)
        mask = j >= minstage[:, None]
        return f.astype(np.float32), mask, marg

    def apply(self, v: int, choice: np.ndarray, marg: np.ndarray) -> None:
        """Place layer ``v`` in stage ``choice[b]`` of every rollout ``b``."""
        rows = np.arange(self.b)
        self.assign[:, v] = choice
        self.load_c[rows, choice] += self.p.compute_time_s[v]
        self.load_p[rows, choice] += self.p.param_bytes[v]
        self.recv[rows, choice] += marg[rows, choice]
        preds = self.p.preds[v]
        if preds.size:
            sp = self.assign[:, preds]
            crossing = sp < choice[:, None]
            bi, pi = np.nonzero(crossing)
            self.received[bi, preds[pi], choice[bi]] = True
        self.opened = np.maximum(self.opened, choice)


@dataclass(frozen=True)
class PolicyConfig:
    hidden: int = 64
    mlp: int = 128


class PartitionPolicy(nn.Module):
    """BiLSTM encoder over layers + MLP stage scorer (see the module docstring)."""

    def __init__(self, config: PolicyConfig = PolicyConfig()):
        super().__init__()
        self.config = config
        h = config.hidden
        self.embed = nn.Linear(N_STATIC, h)
        self.lstm = nn.LSTM(h, h, batch_first=True, bidirectional=True)
        self.w1_static = nn.Linear(2 * h, config.mlp)
        self.w1_dyn = nn.Linear(N_DYNAMIC, config.mlp, bias=False)
        self.w2 = nn.Linear(config.mlp, config.mlp // 2)
        self.w3 = nn.Linear(config.mlp // 2, 1)

    def encode(self, static: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``(G, n, N_STATIC)`` → ``(G, n, mlp)`` static part of the scorer's first layer."""
        x = torch.relu(self.embed(static))
        if lengths is not None:
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, _ = self.lstm(packed)
            out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=static.shape[1])
        else:
            out, _ = self.lstm(x)
        return self.w1_static(out)

    def score(self, static_proj: torch.Tensor, dynamic: torch.Tensor) -> torch.Tensor:
        """Logits ``(..., k)`` from ``static_proj (..., mlp)`` and ``dynamic (..., k, N_DYNAMIC)``."""
        z = torch.relu(static_proj.unsqueeze(-2) + self.w1_dyn(dynamic))
        return self.w3(torch.relu(self.w2(z))).squeeze(-1)


def save_policy(policy: PartitionPolicy, path: str | Path, meta: dict) -> Path:
    from mascot.io import atomic_write

    payload = {"state_dict": policy.state_dict(), "config": asdict(policy.config), "meta": meta}
    return atomic_write(path, lambda p: torch.save(payload, p))


def load_policy(path: str | Path | None = None) -> tuple[PartitionPolicy, dict]:
    path = Path(path) if path else DEFAULT_MODEL_PATH
    if not path.exists():
        raise MascotError("no trained pipeline model", path=path,
                          hint="train one with `mascot pipeline train` or pass --weights")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        policy = PartitionPolicy(PolicyConfig(**payload["config"]))
        policy.load_state_dict(payload["state_dict"])
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        raise MascotError(f"not a pipeline policy file: {exc}", path=path) from None
    policy.eval()
    return policy, payload.get("meta", {})


class _NumpyScorer:
    """The scorer's MLP in numpy: per-step calls are too small for torch's overhead."""

    def __init__(self, policy: PartitionPolicy):
        self.wd = policy.w1_dyn.weight.detach().numpy().T.astype(np.float64)
        self.w2 = policy.w2.weight.detach().numpy().T.astype(np.float64)
        self.b2 = policy.w2.bias.detach().numpy().astype(np.float64)
        self.w3 = policy.w3.weight.detach().numpy()[0].astype(np.float64)
        self.b3 = float(policy.w3.bias.detach().numpy()[0])

    def __call__(self, static_rows: np.ndarray, dyn: np.ndarray) -> np.ndarray:
        z = np.maximum(static_rows[:, None, :] + dyn @ self.wd, 0)
        z = np.maximum(z @ self.w2 + self.b2, 0)
        return z @ self.w3 + self.b3


DEFAULT_SCALES: tuple[float, ...] = (1.0, 0.9, 0.8, 1.1)


def rollout(policy: PartitionPolicy, problem: PipelineProblem, samples: int = 31, seed: int = 0,
            t_ref: float | None = None, scales: tuple[float, ...] = (1.0,)) -> np.ndarray:
    """``(1 + samples, n)`` assignments, greedy and sampled (Gumbel-max, seeded).

    The rows are split between the normaliser scales ``scales`` (``T_ref × scale``; a smaller
    scale makes stages look fuller, so the policy cuts earlier); the first row of every scale
    is its greedy rollout, row 0 the greedy rollout at the first scale.
    """
    if t_ref is None:
        t_ref = solve_latency_balanced(problem).bottleneck_s
    t_ref = max(t_ref, 1e-12)
    g = len(scales)
    b = 1 + samples
    group = np.arange(b) * g // b  # contiguous blocks of rows per scale
    greedy = np.zeros(b, dtype=bool)
    greedy[np.searchsorted(group, np.arange(g))] = True
    static = torch.from_numpy(np.stack([static_features(problem, t_ref * sc) for sc in scales]))
    with torch.no_grad():
        proj = policy.encode(static).numpy().astype(np.float64)  # (G, n, mlp)
    scorer = _NumpyScorer(policy)
    state = DecodeState(problem, b, t_ref * np.asarray(scales)[group])
    rng = np.random.default_rng(seed)
    noisy_rows = ~greedy
    for v in range(problem.n_layers):
        dyn, mask, marg = state.step_features(v)
        logits = scorer(proj[group, v], dyn.astype(np.float64))
        logits = np.where(mask, logits, -np.inf)
        logits[noisy_rows] += rng.gumbel(size=(int(noisy_rows.sum()), problem.n_stages))
        choice = np.argmax(logits, axis=1)
        state.apply(v, choice, marg)
    return state.assign


def solve_learned(problem: PipelineProblem, policy: PartitionPolicy | None = None, samples: int = 31,
                  seed: int = 0, scales: tuple[float, ...] = DEFAULT_SCALES) -> Partition:
    """Partition ``problem`` with the trained policy (default: the shipped model)."""
    start = time.perf_counter()
    if policy is None:
        policy = _default_policy()
    t_ref = solve_latency_balanced(problem).bottleneck_s
    assigns = rollout(policy, problem, samples=samples, seed=seed, t_ref=t_ref, scales=scales)
    bott, total = evaluate_batch(problem, assigns)
    best = best_index(bott, total)
    return make_partition(problem, assigns[best], "learned", time.perf_counter() - start)


_CACHE: dict[str, PartitionPolicy] = {}


def _default_policy() -> PartitionPolicy:
    key = str(DEFAULT_MODEL_PATH)
    if key not in _CACHE:
        _CACHE[key] = load_policy(DEFAULT_MODEL_PATH)[0]
    return _CACHE[key]
