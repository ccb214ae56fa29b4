"""Random layered DAGs with Edge-TPU-like layer costs: the learned solver's training set.

A graph is built layer by layer along a "depth" ``t`` from 0 (input) to 1 (classifier), the way
ImageNet CNNs are: each level holds 1–3 parallel nodes (branches of an Inception / ResNet
block); every node reads 1–2 nodes of the previous level and, with some probability, a node a
few levels back (a skip / dense connection). Node costs follow the trends of real CNN layers on
a 64×64 int8 array at 480 MHz, with figures taken from the layer shapes of standard ImageNet
CNNs (ResNet-50: conv1 output 112×112×64 int8 = 802 KB, last block 7×7×2048 = 100 KB; conv
parameters from 9 KB (conv1) to 2.4 MB (3×3×512×512); a 77 M-MAC average conv takes 39 µs at
4096 MACs/cycle and 480 MHz), written here as literals:

* output activation bytes fall with depth, log-linearly from ~800 KB (112×112×64) to ~50 KB
  (7×7×1024), with log-normal noise (σ = 0.6);
* parameter bytes rise with depth from ~10 KB to ~2 MB (σ = 0.9); ~30 % of the nodes are
  parameter-free vector layers (add, pool, concat) with ~1/20 of a MAC layer's time;
* MAC-layer compute time is log-normal around 40 µs (σ = 0.8), roughly flat in depth;
* the model's total parameter size relative to ``k × 8 MiB`` is drawn log-uniformly from
  0.15 to 2.5, so both "everything fits" and "parameters must stream" regimes appear.

The same seed gives the same graphs (numpy ``Generator``).
"""

from __future__ import annotations

import numpy as np

from scheduler.pipeline.model import PipelineProblem

EDGE_TPU_PARAM_MEM_BYTES = 8 * 2**20
EDGE_TPU_LINK_BYTES_PER_S = 500e6


def random_problem(rng: np.random.Generator, n_layers: int, n_stages: int,
                   param_mem_bytes: float = EDGE_TPU_PARAM_MEM_BYTES,
                   link_bw_bytes_per_s: float = EDGE_TPU_LINK_BYTES_PER_S,
                   param_bw_bytes_per_s: float | None = None, name: str = "synthetic") -> PipelineProblem:
    """One random layered DAG with ``n_layers`` nodes, as a :class:`PipelineProblem`."""
    levels: list[list[int]] = []
    count = 0
    while count < n_layers:
        width = int(min(rng.choice([1, 1, 1, 2, 2, 3]), n_layers - count))
        levels.append(list(range(count, count + width)))
        count += width
    depth = np.zeros(n_layers)
    edges: list[tuple[int, int]] = []
    for li, level in enumerate(levels):
        for v in level:
            depth[v] = li / max(len(levels) - 1, 1)
            if li == 0:
                continue
            prev = levels[li - 1]
            for u in rng.choice(prev, size=min(len(prev), int(rng.integers(1, 3))), replace=False):
                edges.append((int(u), v))
            if li >= 2 and rng.random() < 0.3:
                back = levels[int(rng.integers(max(0, li - 5), li - 1))]
                edges.append((int(rng.choice(back)), v))
    # every node but the last level's feeds someone, so there is one output
    has_out = np.zeros(n_layers, dtype=bool)
    for u, _ in edges:
        has_out[u] = True
    for li, level in enumerate(levels[:-1]):
        for u in level:
            if not has_out[u]:
                edges.append((u, int(rng.choice(levels[li + 1]))))

    is_vector = rng.random(n_layers) < 0.3
    is_vector[0] = False
    out_bytes = np.exp(np.log(8e5) + (np.log(5e4) - np.log(8e5)) * depth + rng.normal(0, 0.6, n_layers))
    params = np.exp(np.log(1e4) + (np.log(2e6) - np.log(1e4)) * depth + rng.normal(0, 0.9, n_layers))
    params[is_vector] = 0.0
    total_ratio = np.exp(rng.uniform(np.log(0.15), np.log(2.5)))
    if params.sum() > 0:
        params *= total_ratio * n_stages * param_mem_bytes / params.sum()
    compute = np.exp(np.log(40e-6) + rng.normal(0, 0.8, n_layers))
    compute[is_vector] /= 20.0
    # scale compute so the model's compute is comparable to its I/O, as on a real Edge TPU
    compute *= np.exp(rng.uniform(np.log(0.5), np.log(2.0)))
    host_in = np.zeros(n_layers)
    host_in[levels[0]] = 224 * 224 * 3
    e = np.unique(np.asarray(edges, dtype=np.int64).reshape(-1, 2), axis=0)
    return PipelineProblem(
        compute_time_s=compute, param_bytes=np.rint(params), out_bytes=np.rint(out_bytes), edges=e,
        n_stages=n_stages, param_mem_bytes=param_mem_bytes,
        param_bw_bytes_per_s=param_bw_bytes_per_s or link_bw_bytes_per_s, link_bw_bytes_per_s=link_bw_bytes_per_s,
        host_in_bytes=host_in, name=name)


def random_problems(seed: int, count: int, n_range: tuple[int, int] = (12, 40),
                    stage_choices: tuple[int, ...] = (2, 3, 4, 5, 6)) -> list[PipelineProblem]:
    """``count`` random problems with sizes in ``n_range`` and stage counts from ``stage_choices``."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        n = int(rng.integers(n_range[0], n_range[1] + 1))
        k = int(rng.choice(stage_choices))
        out.append(random_problem(rng, n, k, name=f"synthetic{i}"))
    return out
