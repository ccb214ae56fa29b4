"""The learned partitioner's encoder at inference, compiled: the BiLSTM recurrence in numba.

Why
    At inference the encoder runs on *one* sequence (the layers of one graph) of a few hundred
    steps. torch's CPU LSTM pays a few microseconds of dispatch per time step and direction, which
    is most of its ~4 ms on a 500-layer DenseNet; the arithmetic itself (a 64×256 matrix-vector
    product and 256 gate non-linearities per step) is ~10× less. Here the input projections of
    all steps are two matrix products (numpy, BLAS) and the recurrence of both directions one
    compiled loop over the steps.

Equivalence
    The same equations as ``torch.nn.LSTM`` (gate order i, f, g, o; ``c' = f·c + i·g``,
    ``h' = o·tanh(c')``; the reverse direction reads the sequence backwards), in float32. Sums
    are taken in a different order than torch's kernels, so outputs agree to float32 rounding
    (~1e-6 relative), not bit for bit; ``tests/test_pipeline_speed_paths.py`` checks the agreement.
    Training keeps torch (it needs gradients).
"""

from __future__ import annotations

import numpy as np
from numba import njit


# Eigen's rational tanh for float32 (``generic_fast_tanh_float``): max abs error 4e-7 on all
# inputs (clamped at ±7.905, where float32 tanh rounds to ±1). Plain arithmetic, so the gate loop
# vectorises; scalar libm ``expf`` / ``tanhf`` calls cost more than the matrix-vector product.
_A = (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05, 5.12229709037114e-08,
      -8.60467152213735e-11, 2.00018790482477e-13, -2.76076847742355e-16)
_B = (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04, 1.19825839466702e-06)
_CLAMP = 7.90531110763549805


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _tanh(x: np.float32) -> np.float32:
    x = min(max(x, np.float32(-_CLAMP)), np.float32(_CLAMP))
    x2 = x * x
    p = np.float32(_A[6])
    p = p * x2 + np.float32(_A[5])
    p = p * x2 + np.float32(_A[4])
    p = p * x2 + np.float32(_A[3])
    p = p * x2 + np.float32(_A[2])
    p = p * x2 + np.float32(_A[1])
    p = p * x2 + np.float32(_A[0])
    q = np.float32(_B[3])
    q = q * x2 + np.float32(_B[2])
    q = q * x2 + np.float32(_B[1])
    q = q * x2 + np.float32(_B[0])
    return x * p / q


@njit(cache=True, nogil=True, fastmath=True)
def _direction(xp: np.ndarray, whh_t: np.ndarray, out: np.ndarray, col0: int, reverse: bool) -> None:
    """One LSTM direction: ``xp`` (n, 4h) input projections (biases included), ``whh_t`` (h, 4h)."""
    n, h4 = xp.shape
    h = h4 // 4
    hs = np.zeros(h, dtype=np.float32)
    cs = np.zeros(h, dtype=np.float32)
    gates = np.empty(h4, dtype=np.float32)
    half = np.float32(0.5)
    for step in range(n):
        t = n - 1 - step if reverse else step
        for m in range(h4):
            gates[m] = xp[t, m]
        for i in range(h):
            hi = hs[i]
            for m in range(h4):
                gates[m] += whh_t[i, m] * hi
        # sigmoid(x) = (1 + tanh(x / 2)) / 2 on the i, f, o gates, tanh on the g gate; separate
        # loops with constant factors vectorise best
        for m in range(2 * h):
            gates[m] = _tanh(gates[m] * half) * half + half
        for m in range(2 * h, 3 * h):
            gates[m] = _tanh(gates[m])
        for m in range(3 * h, h4):
            gates[m] = _tanh(gates[m] * half) * half + half
        for m in range(h):
            cs[m] = gates[h + m] * cs[m] + gates[m] * gates[2 * h + m]
        for m in range(h):
            hs[m] = gates[3 * h + m] * _tanh(cs[m])
        for m in range(h):
            out[t, col0 + m] = hs[m]


@njit(cache=True, nogil=True)
def bilstm(xp_f: np.ndarray, xp_b: np.ndarray, whh_f_t: np.ndarray, whh_b_t: np.ndarray) -> np.ndarray:
    """``(n, 2h)`` outputs of a one-layer bidirectional LSTM (forward states, then backward)."""
    n = xp_f.shape[0]
    h = whh_f_t.shape[0]
    out = np.empty((n, 2 * h), dtype=np.float32)
    _direction(xp_f, whh_f_t, out, 0, False)
    _direction(xp_b, whh_b_t, out, h, True)
    return out


class CompiledEncoder:
    """The policy's encoder (embedding, BiLSTM, static part of the scorer's first layer) as
    float32 numpy weights; ``__call__(static (n, N_STATIC)) -> (n, mlp)``."""

    def __init__(self, policy) -> None:
        def f32(t) -> np.ndarray:
            return np.ascontiguousarray(t.detach().numpy(), dtype=np.float32)

        lstm = policy.lstm
        if lstm.num_layers != 1 or not lstm.bidirectional or lstm.proj_size:
            raise ValueError("the compiled encoder covers one bidirectional LSTM layer without projection")
        self.we, self.be = f32(policy.embed.weight).T.copy(), f32(policy.embed.bias)
        self.wih_f = f32(lstm.weight_ih_l0).T.copy()
        self.wih_b = f32(lstm.weight_ih_l0_reverse).T.copy()
        self.bias_f = f32(lstm.bias_ih_l0) + f32(lstm.bias_hh_l0)
        self.bias_b = f32(lstm.bias_ih_l0_reverse) + f32(lstm.bias_hh_l0_reverse)
        self.whh_f = f32(lstm.weight_hh_l0).T.copy()
        self.whh_b = f32(lstm.weight_hh_l0_reverse).T.copy()
        self.w1, self.b1 = f32(policy.w1_static.weight).T.copy(), f32(policy.w1_static.bias)

    def __call__(self, static: np.ndarray) -> np.ndarray:
        x = np.asarray(static, dtype=np.float32) @ self.we
        x += self.be
        np.maximum(x, 0, out=x)
        xp_f = x @ self.wih_f
        xp_f += self.bias_f
        xp_b = x @ self.wih_b
        xp_b += self.bias_b
        out = bilstm(xp_f, xp_b, self.whh_f, self.whh_b)
        proj = out @ self.w1
        proj += self.b1
        return proj


_WARM: list[bool] = []


def warm_up() -> None:
    """Compile (or load from the on-disk cache) the recurrence once, on a 2-step, h = 2 case."""
    if _WARM:
        return
    xp = np.zeros((2, 8), dtype=np.float32)
    w = np.zeros((2, 8), dtype=np.float32)
    bilstm(xp, xp, w, w)
    _WARM.append(True)
