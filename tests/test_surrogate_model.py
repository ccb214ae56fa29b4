"""Training a tiny surrogate, its file round trip, compatibility checks and range warnings."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from mascot.errors import MascotError
from surrogate.dataset import generate, load_dataset
from surrogate.features import FEATURES, feature_matrix, query_frame
from surrogate.model import MODEL_TARGETS, SurrogateModel, SurrogateRangeWarning, TrainConfig, dataset_info, train
from surrogate.sampling import sample_layer
from hwmodel.spec import load_accelerator

TINY = TrainConfig(trials=2, n_threads=1, max_trees=30, early_stopping=10, seed=0)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("surrogate-data")
    generate(folder, samples=60, seed=11, zoo=False, n_jobs=1, progress=False, chunk_rows=60)
    return folder, load_dataset(folder)


@pytest.fixture(scope="module")
def tiny_model(tiny_data):
    folder, df = tiny_data
    return train(df, TINY, name="tiny", dataset_info=dataset_info(folder, df))


def test_tiny_model_learns_something(tiny_data, tiny_model):
    _, df = tiny_data
    meta = tiny_model.metadata
    assert meta["targets"] == list(MODEL_TARGETS) and meta["features"] == list(FEATURES)
    assert meta["backend"]["name"] == "analytical" and set(meta["spec_hash"]) == {
        "eyeriss_small", "eyeriss_large", "simba_small", "simba_large"}
    assert meta["dataset"]["rows"] == len(df)
    pred = tiny_model.predict_frame(df, check_ranges=False)
    for t in MODEL_TARGETS:
        assert pred[t].shape == (len(df),) and (pred[t] > 0).all()
    # on its own training data a log-space model is far better than predicting the median
    true = df["cycles"].to_numpy()
    err_model = np.median(np.abs(np.log(pred["cycles"] / true)))
    err_const = np.median(np.abs(np.log(np.median(true) / true)))
    assert err_model < 0.5 * err_const


def test_training_is_deterministic(tiny_data, tiny_model):
    folder, df = tiny_data
    again = train(df, TINY, name="tiny", dataset_info=dataset_info(folder, df))
    assert again.model_id == tiny_model.model_id


def test_file_round_trip(tmp_path, tiny_data, tiny_model):
    _, df = tiny_data
    path = tiny_model.save(tmp_path / "m")
    assert (path / "metadata.json").is_file() and (path / "cycles.json.gz").is_file()
    loaded = SurrogateModel.load(path)
    assert loaded.metadata == json.loads((path / "metadata.json").read_text())
    x = feature_matrix(df)
    a, b = tiny_model.predict_matrix(x), loaded.predict_matrix(x)
    for t in MODEL_TARGETS:
        np.testing.assert_allclose(a[t], b[t], rtol=1e-6)


def test_model_for_other_features_is_refused(tmp_path, tiny_model):
    path = tiny_model.save(tmp_path / "m")
    meta = json.loads((path / "metadata.json").read_text())
    meta["features"] = meta["features"][:-1] + ["some_old_feature"]
    (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(MascotError, match="other features"):
        SurrogateModel.load(path)
    meta["features"] = list(FEATURES)
    meta["format"] = 99
    (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(MascotError, match="format"):
        SurrogateModel.load(path)


def test_missing_model_and_booster_errors(tmp_path, tiny_model):
    with pytest.raises(MascotError, match="not found"):
        SurrogateModel.load("no-such-model")
    path = tiny_model.save(tmp_path / "m")
    (path / "energy_pj.json.gz").unlink()
    with pytest.raises(MascotError, match="energy_pj"):
        SurrogateModel.load(path)


def test_queries_outside_the_ranges_warn(tiny_model):
    spec = load_accelerator("eyeriss_small")
    rng = np.random.default_rng(0)
    big = spec.variant(pe_x=128, pe_y=64)  # 8192 PEs: far beyond the sampled arrays
    outside = query_frame([sample_layer(rng)], big)
    with pytest.warns(SurrogateRangeWarning, match="hw_pe_x"):
        tiny_model.predict_frame(outside)
    assert "hw_mac_units" in tiny_model.out_of_range(outside)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SurrogateRangeWarning)
        tiny_model.predict_frame(outside, check_ranges=False)


def test_too_little_data_is_a_user_error(tiny_data):
    _, df = tiny_data
    with pytest.raises(MascotError, match="at least 20"):
        train(df.iloc[:5], TINY)


@pytest.fixture(scope="module")
def expert_model(tiny_data):
    _, df = tiny_data
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("surrogate.model.MIN_EXPERT_ROWS", 5)  # the tiny set has ~25 MAC rows per dataflow
        return train(df, TINY, name="experts")


def test_dataflow_experts_route_each_row_to_its_own_boosters(tmp_path, tiny_data, expert_model):
    _, df = tiny_data
    assert expert_model.experts == ("row_stationary", "weight_stationary")
    assert set(expert_model.boosters) == {f"{t}@{e}" for t in MODEL_TARGETS for e in expert_model.experts}
    x = np.ascontiguousarray(feature_matrix(df), dtype=np.float32)
    margins = expert_model.margins(x)
    for expert in expert_model.experts:
        rows = (df["hw_dataflow"] == expert).to_numpy()
        for t in MODEL_TARGETS:
            own = expert_model.booster(t, expert).inplace_predict(x[rows])
            assert np.array_equal(margins[t][rows], np.asarray(own, np.float32))
    # the numpy-forest path (a few rows) and XGBoost's (a batch) agree bit for bit, and so does a reload
    loaded = SurrogateModel.load(expert_model.save(tmp_path / "m"))
    assert (tmp_path / "m" / "energy_pj@weight_stationary.json.gz").is_file()
    batch = loaded.predict_matrix(x)
    for i in range(0, len(x), 4):
        few = loaded.predict_matrix(x[i:i + 4])
        for t in MODEL_TARGETS:
            assert np.array_equal(few[t], batch[t][i:i + 4])


def test_dataflow_without_expert_uses_the_fallback_and_warns(tiny_data, expert_model):
    _, df = tiny_data
    row = df[df["hw_dataflow"] == expert_model.metadata["expert_fallback"]].iloc[:1].copy()
    other = row.copy()
    other["hw_dataflow"] = "output_stationary"
    with pytest.warns(SurrogateRangeWarning, match="output_stationary"):
        got = expert_model.predict_frame(other)
    x = np.ascontiguousarray(feature_matrix(other), dtype=np.float32)
    fallback = expert_model.booster("cycles", expert_model.metadata["expert_fallback"]).inplace_predict(x)
    assert np.array_equal(expert_model.margins(x)["cycles"], np.asarray(fallback, np.float32))
    assert got["cycles"][0] > 0


def test_shared_boosters_when_asked_or_when_data_is_small(tiny_data, tiny_model):
    from dataclasses import replace

    _, df = tiny_data
    assert tiny_model.experts == ()  # ~25 MAC rows per dataflow < MIN_EXPERT_ROWS
    assert set(tiny_model.boosters) == set(MODEL_TARGETS)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("surrogate.model.MIN_EXPERT_ROWS", 5)
        shared = train(df, replace(TINY, per_dataflow=False), name="shared")
    assert shared.experts == () and set(shared.boosters) == set(MODEL_TARGETS)


def test_loss_is_chosen_and_recorded(tiny_data, tiny_model):
    from dataclasses import replace

    _, df = tiny_data
    assert TINY.loss == "absolute" and tiny_model.metadata["train"]["loss"] == "absolute"
    assert all("val_mae_log" in p for p in tiny_model.metadata["params"].values())
    squared = train(df, replace(TINY, loss="squared"), name="sq")
    assert squared.metadata["train"]["loss"] == "squared"
    assert all("val_rmse_log" in p for p in squared.metadata["params"].values())
    assert squared.model_id != tiny_model.model_id
    with pytest.raises(MascotError, match="unknown loss"):
        train(df, replace(TINY, loss="huber"), name="bad")
