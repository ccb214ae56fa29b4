"""The fast prediction paths (row de-duplication, the numpy forest) give the recorded predictions exactly.

The plain path (one ``Booster.inplace_predict`` call per booster on every row, plus the model's
log offsets; vector rows by their closed form) is computed here, in the same process, and the fast
paths must give its values bit for bit, whether a layer is predicted alone, in a batch, or
repeated. The values recorded when the default model was trained guard the shipped model file
itself: they must hold to 1e-12 (not bit for bit: ``np.exp`` may differ in the last bit between
numpy builds). Retraining the default model means recording them again.
"""

from __future__ import annotations

import hashlib
import pickle

import numpy as np
import pandas as pd
import pytest

from hwmodel.spec import load_accelerator
from surrogate.backend import SurrogateBackend
from surrogate.features import feature_matrix, query_frame
from surrogate.forest import compile_booster
from surrogate.model import (
    SMALL_BATCH_ROWS, SurrogateModel, _add_offset, _closed_form_rows, from_log, target_offsets, unique_rows,
)
from surrogate.sampling import BASE_CLASSES
from workloads.zoo import load_model

PAPER_MODELS = ("squeezenet", "yolo-lite", "kws", "alexnet", "inceptionv3", "resnet50", "yolov2")
# sha256 of the float32 booster margins (targets in metadata order, each row by its dataflow's booster) of
# every paper layer on the four classes
RECORDED_MARGINS_SHA256 = "825252b8d3a97c4d510212986eae26139468bea7d6f4b18c39e05f7c284a2ff0"
# resnet50 layer index -> class -> (cycles, energy_pj, dram_read_bytes, dram_write_bytes), recorded
RECORDED = {
    0: {"eyeriss_small": (529692.317264797, 755912885.0357343, 852508.6622931048, 1605738.743253654),
        "eyeriss_large": (261793.0164321797, 786183660.2943625, 867347.9529791536, 1605544.4479904345),
        "simba_small": (614641.2512325267, 380315874.3278015, 149081.29663798364, 802816.0106971564),
        "simba_large": (614644.4557960986, 393720937.71729285, 160369.64466676838, 802816.0106971564)},
    5: {"eyeriss_small": (199657.39630304472, 367398408.4896224, 568123.9204371503, 1605544.4479904345),
        "eyeriss_large": (100301.13608308471, 383414710.6935192, 644520.9734515693, 1605544.4479904345),
        "simba_small": (200697.84540207003, 159517304.23167056, 220381.50532238843, 802816.0106971564),
        "simba_large": (100348.92270103502, 157703345.17276913, 211206.27313551784, 802816.0106971564)},
    17: {"eyeriss_small": (100352.00069633611, 249681143.2229596, 1605632.0111413754, 1605632.0111413754),
        "eyeriss_large": (50176.00034816805, 249681143.2229596, 1605632.0111413754, 1605632.0111413754),
        "simba_small": (3136.000021760502, 115624207.81835635, 802816.0055706891, 802816.0055706891),
        "simba_large": (1568.0000108802508, 120765998.64443111, 802816.0055706891, 802816.0055706891)},
    87: {"eyeriss_small": (12776.098119157628, 272095214.6714798, 3955065.613418254, 1999.8906364066652),
        "eyeriss_large": (5125.929592759003, 275387393.41333807, 3988293.6153589142, 1999.8906364066652),
        "simba_small": (8000.093173296937, 137756194.64709684, 2059198.8635246546, 999.99985958667),
        "simba_large": (4000.046586648468, 137117217.95773903, 2055130.0001905786, 999.99985958667)},
}


def plain_predict(model: SurrogateModel, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The reference path: every row through XGBoost itself, no de-duplication, no numpy forest."""
    x = np.ascontiguousarray(feature_matrix(frame), dtype=np.float32)
    off = target_offsets(x, model.metadata.get("offsets", {}))
    closed = _closed_form_rows(x, model.metadata)
    margins = model.margins(x)  # each row through its dataflow's booster by XGBoost itself
    return {t: from_log(_add_offset(margins[t], off.get(t), closed)) for t in model.targets}


@pytest.fixture(scope="module")
def model() -> SurrogateModel:
    return SurrogateModel.load("default")


@pytest.fixture(scope="module")
def specs():
    return {b: load_accelerator(b) for b in BASE_CLASSES}


def test_single_layer_predictions_match_recorded(model, specs):
    layers = load_model("resnet50").layers
    for i, per_class in RECORDED.items():
        for cls, want in per_class.items():
            frame = query_frame([layers[i]], specs[cls])
            got = model.predict_frame(frame, check_ranges=False)
            ref = plain_predict(model, frame)
            assert tuple(float(got[t][0]) for t in model.targets) == tuple(float(ref[t][0]) for t in model.targets)
            assert tuple(float(got[t][0]) for t in model.targets) == pytest.approx(want, rel=1e-12), (i, cls)


def test_batched_predictions_match_recorded_hash(model, specs):
    layers = [layer for m in PAPER_MODELS for layer in load_model(m).layers]
    frame = pd.concat([query_frame(layers, specs[b]) for b in BASE_CLASSES], ignore_index=True)
    pred = model.predict_frame(frame, check_ranges=False)
    ref = plain_predict(model, frame)
    for t in model.targets:
        assert np.array_equal(pred[t], ref[t]), t
    # the booster margins themselves (float32, exact) are the recorded ones
    x = np.ascontiguousarray(feature_matrix(frame), dtype=np.float32)
    h = hashlib.sha256()
    margins = model.margins(x)
    for t in model.targets:
        h.update(margins[t].tobytes())
    assert h.hexdigest() == RECORDED_MARGINS_SHA256
    # the same rows shuffled and repeated give the same values row for row
    order = np.random.default_rng(0).permutation(np.tile(np.arange(len(frame)), 3))
    again = model.predict_frame(frame.iloc[order].reset_index(drop=True), check_ranges=False)
    for t in model.targets:
        assert np.array_equal(again[t], pred[t][order])


def test_numpy_forest_equals_xgboost_bitwise_including_missing_values(model, specs):
    layers = load_model("alexnet").layers
    x = np.concatenate([feature_matrix(query_frame(layers, s)) for s in specs.values()])
    x_nan = x.copy()
    x_nan[::3, 5] = np.nan
    x_nan[1::4, 30] = np.nan
    for t, booster in model.boosters.items():
        forest = compile_booster(booster)
        assert forest is not None
        for arr in (x, x_nan):
            want = booster.inplace_predict(arr)
            assert np.array_equal(forest.predict(arr).view(np.uint32), np.asarray(want, np.float32).view(np.uint32)), t


def test_unique_rows_round_trips_and_handles_all_distinct():
    rng = np.random.default_rng(1)
    base = rng.normal(size=(50, 7)).astype(np.float32)
    base[3, 2] = np.nan
    x = base[rng.integers(0, 50, size=400)]
    uniq, inv = unique_rows(x)
    assert inv is not None and len(uniq) <= 50
    assert np.array_equal(uniq[inv].view(np.uint32), x.view(np.uint32))
    same, none = unique_rows(base)
    assert none is None and same is base


def test_backend_single_and_many_agree_and_pickle(model, specs):
    backend = SurrogateBackend(model)
    layers = load_model("kws").layers[: SMALL_BATCH_ROWS + 4]
    spec = specs["simba_small"]
    many = backend.evaluate_many(layers, spec)
    one = [backend.evaluate(layer, spec) for layer in layers]
    assert many == one
    clone = pickle.loads(pickle.dumps(backend))
    assert clone.evaluate_many(layers, spec) == many


def test_forest_matches_a_booster_trained_with_missing_values_and_refuses_other_links():
    import xgboost as xgb

    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    x[rng.random(x.shape) < 0.15] = np.nan
    y = np.nan_to_num(x[:, 0]) * 2.0 + np.nan_to_num(x[:, 1]) ** 2 + rng.normal(scale=0.1, size=300)
    params = {"max_depth": 5, "eta": 0.3, "nthread": 1, "seed": 0, "objective": "reg:squarederror"}
    booster = xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=25)
    forest = compile_booster(booster)
    assert forest is not None
    assert np.array_equal(forest.predict(x).view(np.uint32),
                          np.asarray(booster.inplace_predict(x), np.float32).view(np.uint32))
    logistic = xgb.train({**params, "objective": "binary:logistic"}, xgb.DMatrix(x, label=(y > 0).astype(float)),
                         num_boost_round=3)
    assert compile_booster(logistic) is None
