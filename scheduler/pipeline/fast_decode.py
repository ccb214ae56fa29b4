"""The learned partitioner's decoder, compiled: one numba call walks all layers of all rollouts.

Why
    The decoder is sequential (the features of layer ``v`` depend on where layers ``< v`` went),
    so it cannot be vectorised across layers. In numpy every layer costs ~20 array operations of
    a few dozen elements each, i.e. ~0.3 ms of interpreter and dispatch overhead per layer,
    which is most of the solver's time on a 500-layer DenseNet. Here the per-layer work (the
    dynamic features, the scorer MLP, masking, Gumbel noise, argmax and the state update) runs
    as one compiled loop; the MLP's two dense layers call BLAS through ``np.dot``.

Equivalence
    :func:`decode` computes exactly what :class:`scheduler.pipeline.learned.DecodeState` +
    ``_NumpyScorer`` compute (the same features, in float64 then float32, the same MLP in
    float32, the same masking, temperature and noise, ``argmax`` taking the first maximum), so
    the trained policy is used as trained. ``tests/test_pipeline_fast.py`` checks that both
    decoders return the same rollouts. The numpy decoder stays the reference and is what
    training uses (teacher forcing needs the features, not just the choices).

Compilation
    ``cache=True`` keeps the machine code on disk; :func:`warm_up` compiles (or loads) it on a
    tiny problem. The learned solver calls it before it starts its clock, as it loads the model
    file before: a one-off per process, like importing OR-Tools.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from scheduler.pipeline.model import PipelineProblem

N_DYNAMIC = 17
N_TIMES = 9


@njit(cache=True, nogil=True)
def _lg(x: float) -> np.float32:
    """``log1p(clip(x, 0, 1e4))`` in float64, stored as float32 (as ``learned._lg`` + astype)."""
    return np.float32(np.log1p(min(max(x, 0.0), 1e4)))


@njit(cache=True, nogil=True)
def _decode(compute: np.ndarray, params: np.ndarray, out_bytes: np.ndarray, host_in: np.ndarray,
            rem_c: np.ndarray, rem_p: np.ndarray, pred_ptr: np.ndarray, pred_idx: np.ndarray, k: int,
            mem: float, pbw: float, lbw: float, t_groups: np.ndarray, group: np.ndarray, proj: np.ndarray,
            wd: np.ndarray, w2: np.ndarray, b2: np.ndarray, w3: np.ndarray, b3: np.float32,
            noise: np.ndarray, noisy: np.ndarray, temperature: float, max_ahead: int) -> np.ndarray:
    """``(B, n)`` stage assignments of ``B`` rollouts (see the module docstring).

    Savings that change no choice: only the stages the masks allow (precedence:
    ``j >= minstage``; no skipped stage: ``j <= opened + max_ahead``) are featurised and scored (the masked ones get ``-inf`` logits in the
    numpy decoder whatever their score), and rollouts of one normaliser group whose partial
    assignments are still equal (sampled rollouts follow the greedy one until their noise first
    changes a choice) share one featurisation and score: equal states give equal features. A
    layer with a single allowed stage (all stages open, predecessors in the last one) is placed
    without being scored. The scorer MLP is ~95 % of the decoder's time, so these cut it by half
    or more.
    """
    n = compute.shape[0]
    b_rows = group.shape[0]
    g_rows = t_groups.shape[0]
    mlp = wd.shape[1]
    assign = np.zeros((b_rows, n), dtype=np.int64)
    load_c = np.zeros((b_rows, k))
    load_p = np.zeros((b_rows, k))
    recv = np.zeros((b_rows, k))
    received = np.zeros((b_rows, n, k), dtype=np.bool_)
    opened = np.zeros(b_rows, dtype=np.int64)
    mem1 = max(mem, 1.0)
    feats = np.empty((b_rows * k, N_DYNAMIC), dtype=np.float32)
    z1 = np.empty((b_rows * k, mlp), dtype=np.float32)
    marg = np.zeros((b_rows, k))
    minstage = np.zeros(b_rows, dtype=np.int64)
    hi = np.zeros(b_rows, dtype=np.int64)
    row0 = np.zeros(b_rows, dtype=np.int64)
    cur = np.empty(k)
    lg5 = np.empty((g_rows, k), dtype=np.float32)
    lg8 = np.empty((g_rows, k), dtype=np.float32)
    lg6 = np.empty(g_rows, dtype=np.float32)
    # rep[b]: the first rollout whose partial assignment equals b's, in b's group (identical states
    # give identical features: only representatives are featurised and scored)
    rep = np.empty(b_rows, dtype=np.int64)
    for b in range(b_rows):
        rep[b] = b
        for c in range(b):
            if group[c] == group[b]:
                rep[b] = c
                break
    new_rep = np.full(b_rows, -1, dtype=np.int64)
    chosen = np.zeros(b_rows, dtype=np.int64)
    for v in range(n):
        p0, p1 = pred_ptr[v], pred_ptr[v + 1]
        rem, remp = rem_c[v], rem_p[v]
        # features that depend on the layer, the stage and the rollout's normaliser only
        for g in range(g_rows):
            tr = t_groups[g]
            lg6[g] = _lg(rem / tr)
            for j in range(k):
                left = float(max(k - j, 1))
                lg5[g, j] = _lg(rem / left / tr)
                lg8[g, j] = _lg((rem + max(remp - left * mem, 0.0) / pbw) / left / tr)
        rows = 0
        for b in range(b_rows):
            r = rep[b]
            if r != b:  # a clone of an earlier rollout: same state, same features and scores
                minstage[b] = minstage[r]
                hi[b] = hi[r]
                row0[b] = row0[r]
                for j in range(minstage[r], hi[r]):
                    marg[b, j] = marg[r, j]
                continue
            ms = 0
            for q in range(p0, p1):
                s = assign[b, pred_idx[q]]
                if s > ms:
                    ms = s
            minstage[b] = ms
            top = min(k, opened[b] + 1 + max_ahead)
            hi[b] = top
            row0[b] = rows
            cur_max = -np.inf
            for j in range(k):
                cur[j] = load_c[b, j] + max(load_p[b, j] - mem, 0.0) / pbw + recv[b, j] / lbw
                if cur[j] > cur_max:
                    cur_max = cur[j]
            g = group[b]
            tr = t_groups[g]
            lg7 = _lg(cur_max / tr)
            forced = top - ms == 1  # one allowed stage: the choice needs no score
            for j in range(ms, top):
                acc = 0.0
                for q in range(p0, p1):
                    u = pred_idx[q]
                    if assign[b, u] < j and not received[b, u, j]:
                        acc += out_bytes[u]
                mj = acc + host_in[v]
                marg[b, j] = mj
                if forced:
                    continue
                over = max(load_p[b, j] - mem, 0.0)
                stream_delta = (max(load_p[b, j] + params[v] - mem, 0.0) - over) / pbw
                new = cur[j] + compute[v] + stream_delta + mj / lbw
                left = float(max(k - j, 1))
                f = feats[rows]
                f[0] = _lg(new / tr)
                f[1] = _lg(cur[j] / tr)
                f[2] = _lg((max(new, cur_max) - cur_max) / tr)
                f[3] = _lg(mj / lbw / tr)
                f[4] = _lg(stream_delta / tr)
                f[5] = lg5[g, j]
                f[6] = lg6[g]
                f[7] = lg7
                f[8] = lg8[g, j]
                rel = j - ms
                f[9] = np.float32(min(load_p[b, j] / mem1, 10.0))
                f[10] = np.float32(j / k)
                f[11] = np.float32(rel / k)
                f[12] = np.float32(1.0 if rel == 0 else 0.0)
                f[13] = np.float32(1.0 if j == opened[b] else 0.0)
                f[14] = np.float32(1.0 if j > opened[b] else 0.0)
                f[15] = np.float32((k - 1 - j) / k)
                f[16] = np.float32(min(remp / (left * mem1), 10.0))
                rows += 1
        # scorer MLP (float32, BLAS): relu(feats @ wd + proj) -> relu(@ w2 + b2) -> @ w3 + b3
        z = np.dot(feats[:rows], wd)
        for b in range(b_rows):
            if rep[b] != b:
                continue
            if hi[b] - minstage[b] == 1:
                continue
            for r in range(row0[b], row0[b] + hi[b] - minstage[b]):
                for m in range(mlp):
                    x = z[r, m] + proj[v, m]
                    z1[r, m] = x if x > 0 else np.float32(0.0)
        z2 = np.dot(z1[:rows], w2)
        for r in range(rows):
            for m in range(z2.shape[1]):
                x = z2[r, m] + b2[m]
                z2[r, m] = x if x > 0 else np.float32(0.0)
        out = np.dot(z2, w3)
        for b in range(b_rows):
            ms = minstage[b]
            best = -np.inf
            choice = ms
            for j in range(ms, hi[b] if hi[b] - ms > 1 else ms):
                logit = float(out[row0[b] + j - ms] + b3) / temperature
                if noisy[b]:
                    logit += noise[v, b, j]
                if logit > best:
                    best = logit
                    choice = j
            # place v in `choice`
            assign[b, v] = choice
            load_c[b, choice] += compute[v]
            load_p[b, choice] += params[v]
            recv[b, choice] += marg[b, choice]
            for q in range(p0, p1):
                u = pred_idx[q]
                if assign[b, u] < choice:
                    received[b, u, choice] = True
            if choice > opened[b]:
                opened[b] = choice
            chosen[b] = choice
        # clones that chose alike stay clones; a split class takes its smallest member as representative
        for b in range(b_rows):
            r = rep[b]
            if r == b or chosen[b] == chosen[r]:
                continue
            first = b
            for c in range(r + 1, b):
                if rep[c] == r and chosen[c] == chosen[b]:
                    first = c
                    break
            new_rep[b] = first
        for b in range(b_rows):
            if new_rep[b] >= 0:
                rep[b] = new_rep[b]
                new_rep[b] = -1
    return assign


def decode(problem: PipelineProblem, t_groups: np.ndarray, group: np.ndarray, proj: np.ndarray,
           weights: dict[str, np.ndarray], noise: np.ndarray, noisy: np.ndarray, temperature: float,
           max_ahead: int | None = None) -> np.ndarray:
    """``(B, n)`` rollouts of ``problem``.

    Rollout ``b`` uses the normaliser ``t_groups[group[b]]``, every rollout the encoder output
    ``proj`` (``(n, mlp)``); ``noise`` is ``(n, B, k)`` Gumbel noise added on the ``noisy`` rows.
    A layer may go to stages ``minstage .. opened + max_ahead`` (``opened``: the latest stage used
    so far; ``max_ahead=None``: no limit).
    """
    ptr, idx = problem.pred_csr
    # the remaining compute / parameters after each layer, computed as the numpy decoder does
    rem_c = problem.compute_time_s.sum() - np.cumsum(problem.compute_time_s)
    rem_p = problem.param_bytes.sum() - np.cumsum(problem.param_bytes)
    return _decode(problem.compute_time_s, problem.param_bytes, problem.out_bytes, problem.host_in_bytes,
                   rem_c, rem_p, ptr, idx, int(problem.n_stages), float(problem.param_mem_bytes),
                   float(problem.param_bw_bytes_per_s), float(problem.link_bw_bytes_per_s),
                   np.ascontiguousarray(t_groups, dtype=np.float64), np.ascontiguousarray(group, dtype=np.int64),
                   np.ascontiguousarray(proj, dtype=np.float32), weights["wd"], weights["w2"], weights["b2"],
                   weights["w3"], np.float32(weights["b3"]), np.ascontiguousarray(noise, dtype=np.float64),
                   np.ascontiguousarray(noisy, dtype=np.bool_), float(temperature),
                   int(problem.n_stages if max_ahead is None else max_ahead))


_CONTROLLER: list = []


def blas_single_thread():
    """A context that limits every loaded BLAS to one thread (the decoder's matrices are tiny).

    ``threadpoolctl.threadpool_limits`` rescans the process's libraries on every entry (~2 ms,
    ten times more on a busy machine); one controller, made after the kernels loaded scipy's
    BLAS, is reused instead (~0.1 ms).
    """
    from threadpoolctl import ThreadpoolController

    if not _CONTROLLER:
        warm_up()
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


_WARM: list[bool] = []


def warm_up() -> None:
    """Compile (or load from the on-disk cache) the decoder once, on a 2-layer, 2-stage case.

    The argument types match :func:`decode`'s exactly, so the real call reuses this
    specialisation. Solvers call it before they start their clocks: compiling is a one-off per
    process, like importing a library, not part of solving.
    """
    if _WARM:
        return
    f64 = np.ones(2)
    w = {"wd": np.zeros((N_DYNAMIC, 4), dtype=np.float32), "w2": np.zeros((4, 2), dtype=np.float32),
         "b2": np.zeros(2, dtype=np.float32), "w3": np.zeros(2, dtype=np.float32), "b3": np.float32(0.0)}
    ptr, idx = np.array([0, 0, 1], dtype=np.int64), np.array([0], dtype=np.int64)
    _decode(f64, f64, f64, f64, f64, f64, ptr, idx, 2, 1.0, 1.0, 1.0, f64, np.zeros(2, dtype=np.int64),
            np.zeros((2, 4), dtype=np.float32), w["wd"], w["w2"], w["b2"], w["w3"], w["b3"],
            np.zeros((2, 2, 2)), np.zeros(2, dtype=np.bool_), 1.0, 2)
    _WARM.append(True)
