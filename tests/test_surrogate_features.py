"""The analytical floors the surrogate learns relative to (hand-computed values, the real mapper), and
the held-out ground-truth cache that must come from the same backend code.

The boosters learn ``log(target) - ln 2 × feature`` for the features of
:data:`surrogate.features.OFFSET_FEATURES`, so these features must be what the analytical model
itself computes (compute cycles of the best spatial assignment, the vector-layer closed form),
not approximations.
"""

from __future__ import annotations

import numpy as np
import pytest

from hwmodel.backends.analytical import AnalyticalBackend
from hwmodel.spec import load_accelerator
from surrogate.features import FEATURES, OFFSET_FEATURES, feature_matrix, query_frame
from surrogate.model import target_offsets
from surrogate.spatial import _split_pair, _used_rs, _used_ws, exact_spatial_macs
from workloads.layer import Layer, LayerKind


def _col(x: np.ndarray, name: str) -> np.ndarray:
    return x[:, FEATURES.index(name)].astype(np.float64)


def test_spatial_split_hand_computed():
    # Simba: C and M fill the 4 lanes each, then C×M share 16 PEs (ties: the most C there): 64×64 ->
    # C 4·16 and M 4 on the array, 256 MACs
    assert _used_ws(64, 64, 16) == (256, 1, 1, 64, 4)
    # 3 input channels: the lanes take C3 (the mapspace's C=4 cut to the whole dim), M lanes 4
    assert _used_ws(3, 64, 16)[0] == 3 * 4 * 16
    # Eyeriss 16×16, 3×3 conv, C=M=64, Q=56: X holds Q×M_x (56 has no factor 16 -> Q8 M2),
    # Y holds S3 × C × M_y (3·5 = 15 > 3·4·1 = 12 is impossible: C5 does not divide 64) -> 3·C4·M1 = 12
    assert _used_rs(64, 64, 3, 56, 56, 16, 16, 1) == (16 * 12, 8, 3, 4, 2)
    # ties keep the most Q on the array: Q=8, M=192 on X=16 -> Q8 M2
    assert _split_pair(8, 192, 16) == (8, 2)
    # a filter taller than the column: the whole-S rule is relaxed
    assert _split_pair(55, 16, 16) == (1, 16)
    assert _used_rs(16, 16, 11, 55, 55, 16, 8, 1) == (16, 1, 1, 1, 16)
    # two MACs per PE: one more factor 2 of C, M, P or Q inside the PE (here C: 64 -> C4 on Y × C2 inside)
    assert _used_rs(64, 64, 3, 56, 56, 16, 16, 2)[0] == 2 * 16 * 12


def test_exact_spatial_macs_deduplicates_and_keeps_row_order():
    cg = np.array([64, 3, 64, 64] * 10)
    mg = np.array([64, 64, 64, 64] * 10)
    s = np.array([3, 3, 3, 1] * 10)
    q = np.array([56, 56, 56, 7] * 10)
    pe_x = np.array([16, 16, 16, 16] * 10)
    pe_y = np.array([1, 1, 16, 16] * 10)
    rs = np.array([False, False, True, True] * 10)
    out = exact_spatial_macs(cg, mg, s, q, q, pe_x, pe_y, np.ones(40, np.int64), rs)
    assert out.shape == (40, 5)
    assert out[0, 0] == 256 and out[1, 0] == 192 and out[2, 0] == _used_rs(64, 64, 3, 56, 56, 16, 16, 1)[0]
    assert np.array_equal(out[:4], out[4:8])


@pytest.mark.parametrize("sa", ["simba_small", "simba_large"])
def test_spatial_cycles_equal_the_mapper_on_simba(sa):
    """Weight stationary: the mapper reaches the best perfect-factor assignment, so the floor is exact."""
    spec = load_accelerator(sa)
    layers = [
        Layer(name="c3", op_type="Conv", kind=LayerKind.CONV, C=64, M=128, R=3, S=3, P=28, Q=28),
        Layer(name="pw", op_type="Conv", kind=LayerKind.CONV, C=96, M=24, P=14, Q=14),
        Layer(name="fc", op_type="Gemm", kind=LayerKind.MATMUL, C=1000, M=10),
    ]
    x = feature_matrix(query_frame(layers, spec))
    backend = AnalyticalBackend()
    for i, layer in enumerate(layers):
        cycles = backend.evaluate(layer, spec).cycles
        assert 2 ** _col(x, "log2_spatial_cycles")[i] == pytest.approx(cycles, rel=1e-6), layer.name


def test_vector_floors_are_the_closed_form():
    spec = load_accelerator("eyeriss_small")
    layer = Layer(name="pool", op_type="MaxPool", kind=LayerKind.VECTOR, input_elements=200_000,
                  output_elements=50_000, weight_elements=0, vector_ops=450_000)
    cost = AnalyticalBackend().evaluate(layer, spec)
    x = feature_matrix(query_frame([layer], spec))
    off = {t: float(np.exp(v[0])) for t, v in target_offsets(x, OFFSET_FEATURES).items()}
    assert off["cycles"] == pytest.approx(cost.cycles, rel=1e-6)
    assert off["dram_read_bytes"] == pytest.approx(cost.dram_read_bytes, rel=1e-6)
    assert off["dram_write_bytes"] == pytest.approx(cost.dram_write_bytes, rel=1e-6)
    # energy: per-word energies instead of per-block accesses, so close but not exact
    assert off["energy_pj"] == pytest.approx(cost.energy_pj, rel=0.05)


def test_heldout_cache_is_reused_only_while_the_backend_agrees(tmp_path):
    """A cached ground truth made by other backend code is recomputed, a current one is reused."""
    from mascot.io import write_frame
    from surrogate.dataset import Task
    from surrogate.evaluate import STALE_CHECK_ROWS, evaluate_heldout
    from surrogate.sampling import HardwareConfig, sample_layer

    rng = np.random.default_rng(5)
    hw = HardwareConfig("simba_small")
    tasks = [Task(i, "random", sample_layer(rng, f"t{i}"), hw) for i in range(STALE_CHECK_ROWS + 2)]
    cache = tmp_path / "truth.parquet"
    truth = evaluate_heldout("analytical", tasks, 1, cache)
    # a row past the checked prefix is never re-evaluated: a marker there shows the cache was reused
    marked = truth.copy()
    marked.loc[len(tasks) - 1, "utilization"] = -1.0
    write_frame(marked, cache)
    assert evaluate_heldout("analytical", tasks, 1, cache)["utilization"].iloc[-1] == -1.0
    # a checked row that disagrees (truth from other code): everything is computed again
    stale = marked.copy()
    stale.loc[0, "energy_pj"] *= 2.0
    write_frame(stale, cache)
    again = evaluate_heldout("analytical", tasks, 1, cache)
    assert again["energy_pj"].iloc[0] == truth["energy_pj"].iloc[0]
    assert again["utilization"].iloc[-1] == truth["utilization"].iloc[-1]


def test_shipped_model_costs_vector_layers_by_their_closed_form():
    """``vector_rows: closed_form``: a pooling layer's cycles and DRAM bytes are the analytical ones."""
    from surrogate.model import SurrogateModel

    model = SurrogateModel.load("default")
    assert model.metadata.get("vector_rows") == "closed_form"
    spec = load_accelerator("simba_small")
    layer = Layer(name="pool", op_type="MaxPool", kind=LayerKind.VECTOR, input_elements=5_537_792,
                  output_elements=1_384_448, weight_elements=0, vector_ops=5_537_792)
    want = AnalyticalBackend().evaluate(layer, spec)
    got = model.predict_frame(query_frame([layer], spec), check_ranges=False)
    assert float(got["cycles"][0]) == pytest.approx(want.cycles, rel=1e-6)
    assert float(got["dram_read_bytes"][0]) == pytest.approx(want.dram_read_bytes, rel=1e-6)
    assert float(got["energy_pj"][0]) == pytest.approx(want.energy_pj, rel=0.05)


def test_max_prime_feature_matches_factorisation():
    """The sieve lookup (and the fallback past it) gives the largest prime factor, as the mapper factorises."""
    from hwmodel.mapspace import prime_factors
    from surrogate.features import _max_prime

    values = np.array([1, 2, 12, 13, 17, 425, 2048, 25088, 65535, 65536, 99991, 1000003])
    want = [prime_factors(int(v))[-1] if v > 1 else 1 for v in values]
    assert _max_prime(values).tolist() == want
    assert _max_prime(np.arange(1, 3000)).tolist() == [prime_factors(n)[-1] if n > 1 else 1 for n in range(1, 3000)]


def test_power_of_two_part_feature():
    from surrogate.features import _pow2_part

    values = np.array([1, 2, 3, 12, 17, 150, 160, 192, 1024, 25088])
    assert _pow2_part(values).tolist() == [1, 2, 1, 4, 1, 2, 32, 64, 1024, 512]
    n = np.arange(1, 5000)
    assert np.array_equal(_pow2_part(n), [next(2**k for k in range(13, -1, -1) if v % 2**k == 0) for v in n])
