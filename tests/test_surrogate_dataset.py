"""Sampling and data sets: deterministic plans, valid hardware variants, resumable chunks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mascot.errors import MascotError
from surrogate.dataset import chunk_path, generate, load_dataset, make_plan
from surrogate.features import FEATURES, feature_matrix, hardware_record, query_frame
from surrogate.sampling import BASE_CLASSES, HardwareConfig, _nice, sample_hardware, sample_layer
from hwmodel.spec import load_accelerator


def test_plan_is_a_function_of_the_seed():
    a = make_plan(50, seed=3, zoo=False)
    b = make_plan(50, seed=3, zoo=False)
    c = make_plan(50, seed=4, zoo=False)
    assert [(t.layer, t.hw) for t in a] == [(t.layer, t.hw) for t in b]
    assert [(t.layer, t.hw) for t in a] != [(t.layer, t.hw) for t in c]
    assert [t.sample_id for t in a] == list(range(50))


def test_plan_puts_every_zoo_shape_first_on_all_four_classes():
    plan = make_plan(10, seed=0, holdout=("inceptionv3", "yolov2"))
    zoo = [t for t in plan if t.source.startswith("zoo:")]
    assert plan[: len(zoo)] == zoo  # zoo pairs first
    assert not any(t.source in ("zoo:inceptionv3", "zoo:yolov2") for t in zoo)
    bases = {t.hw.base for t in zoo if t.hw.is_base}
    assert bases == set(BASE_CLASSES)
    assert len(zoo) % 5 == 0  # 4 base classes + one variant per shape


def test_variants_change_sizes_and_refill_energies():
    rng = np.random.default_rng(0)
    for _ in range(12):
        cfg = sample_hardware(rng)
        spec = cfg.build()
        base = load_accelerator(cfg.base)
        assert spec.is_resolved
        assert spec.dataflow == base.dataflow
        assert spec.pe_array.x == cfg.pe_x and spec.macs_per_pe == cfg.macs_per_pe
        assert spec.levels[-2].size_words == cfg.glb_words
        assert spec.word_bits == cfg.word_bits
        if cfg.dram_bytes_per_cycle is None:
            assert spec.dram.read_bw is None
        else:
            assert spec.dram.read_bw == pytest.approx(cfg.dram_bytes_per_cycle * 8 / cfg.word_bits)
        if cfg.word_bits != base.word_bits:
            assert spec.mac_energy_pj != base.mac_energy_pj
        assert HardwareConfig.from_json(cfg.to_json()) == cfg
    assert HardwareConfig("simba_small").build() == load_accelerator("simba_small")


def test_sampled_layers_are_valid_and_cover_the_families():
    rng = np.random.default_rng(1)
    layers = [sample_layer(rng) for _ in range(400)]
    fams = {layer.name.split(":")[1] for layer in layers}
    assert fams == {"conv", "pointwise", "depthwise", "grouped", "fc", "attention", "linear_seq", "vector"}
    for layer in layers:
        assert layer.output_elements > 0
        if layer.is_mac:
            assert layer.macs > 0 and layer.C % layer.groups == 0
    assert any(layer.groups == layer.C > 1 for layer in layers)  # depthwise
    assert any(layer.weights_are_activations for layer in layers)  # attention


@pytest.mark.parametrize("v,want", [(3, 3), (15, 15), (17, 16), (59, 60), (183, 176), (192, 192), (1218, 1280), (2047, 2048)])
def test_nice_channel_counts_keep_four_significant_bits(v: int, want: int) -> None:
    assert _nice(v) == want
    assert bin(_nice(v)).rstrip("0").count("1") <= 4  # at most 4 significant bits


def test_most_sampled_channel_counts_are_nice_but_not_all():
    """Channel counts: 3/4 rounded as real networks (few small prime factors), 1/4 raw (awkward counts stay covered)."""
    rng = np.random.default_rng(7)
    convs = [layer for layer in (sample_layer(rng) for _ in range(2000)) if layer.name.endswith((":conv", ":pointwise"))]
    nice = np.mean([_nice(layer.C) == layer.C and _nice(layer.M) == layer.M for layer in convs])
    assert 0.5 < nice < 0.8, nice  # both nice by rounding (0.75²) or by luck


def test_feature_matrix_is_finite_and_ordered():
    rng = np.random.default_rng(2)
    spec = load_accelerator("eyeriss_small")
    df = query_frame([sample_layer(rng) for _ in range(30)], spec)
    x = feature_matrix(df)
    assert x.shape == (30, len(FEATURES)) and np.isfinite(x).all()
    hw = hardware_record(spec)
    assert hw["hw_mac_units"] == 256 and hw["hw_glb_words"] == 32768
    assert hw["hw_pe_weight_words"] == 192 and hw["hw_dram_bw_words"] == 0.0


def test_generate_resumes_and_refuses_other_arguments(tmp_path):
    out = tmp_path / "data"
    n = 30  # two chunks of 16
    generate(out, samples=n, seed=5, zoo=False, n_jobs=1, progress=False, chunk_rows=16)
    full = load_dataset(out, drop_failed=False)
    assert len(full) == n and list(full["sample_id"]) == list(range(n))
    assert (full.loc[full["error"] == "", "cycles"] > 0).all()
    # an interrupted run: the second chunk is missing; a rerun evaluates only that one
    chunk_path(out, 1).unlink()
    first_mtime = chunk_path(out, 0).stat().st_mtime_ns
    done = []
    generate(out, samples=n, seed=5, zoo=False, n_jobs=1, progress=False, chunk_rows=16,
             on_chunk=lambda k, rows: done.append(k))
    assert done == [1]
    assert chunk_path(out, 0).stat().st_mtime_ns == first_mtime
    again = load_dataset(out, drop_failed=False)
    pd.testing.assert_frame_equal(full, again)
    with pytest.raises(MascotError, match="other arguments"):
        generate(out, samples=n, seed=6, zoo=False, n_jobs=1, progress=False, chunk_rows=16)


def test_load_dataset_errors_name_the_path(tmp_path):
    with pytest.raises(MascotError, match="not found"):
        load_dataset(tmp_path / "nope")
    with pytest.raises(MascotError, match="no chunk"):
        load_dataset(tmp_path)


def test_conv_samples_cover_factorised_kernels_and_detection_inputs():
    """A quarter of the sampled convolutions are 1×k / k×1 (Inception-style), and sides reach YOLO's 416."""
    from surrogate.sampling import ASYMMETRIC_KERNEL_SHARE, CONV_MAX_SIDE

    rng = np.random.default_rng(3)
    convs = [layer for layer in (sample_layer(rng) for _ in range(4000)) if layer.name.endswith(":conv")]
    asym = np.mean([(layer.R == 1) != (layer.S == 1) for layer in convs])
    assert abs(asym - ASYMMETRIC_KERNEL_SHARE) < 0.05, asym
    sides = np.array([max(layer.P, layer.Q) for layer in convs])
    assert sides.max() <= CONV_MAX_SIDE and (sides > 224).any()
