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
RECORDED_MARGINS_SHA256 = "070db6d80af9cc8c4d8625a70aafec878727ff608ac249575f783fa8bc09b9fb"
# resnet50 layer index -> class -> (cycles, energy_pj, dram_read_bytes, dram_write_bytes), recorded
RECORDED = {
    0: {"eyeriss_small": (525835.68283966, 776270481.4267172, 749811.1911993903, 1605632.003764278),
        "eyeriss_large": (263372.11948943016, 779843360.0230016, 793242.7903257647, 1605632.003764278),
        "simba_small": (614655.9642124326, 389584374.7911793, 161986.8596682833, 802816.0023516455),
        "simba_large": (614655.9452271034, 387749302.2091222, 165165.7106499648, 802816.0023516455)},
    5: {"eyeriss_small": (200649.8040068433, 408849601.24570984, 609009.4189915796, 1605632.0053815641),
        "eyeriss_large": (100337.02552173505, 401528811.3622261, 517526.862668375, 1605632.0053815641),
        "simba_small": (200703.995965769, 157314005.3117925, 219397.4527373921, 802816.0023516455),
        "simba_large": (100351.99777319987, 157446524.96667787, 221918.8546182339, 802816.0023516455)},
    17: {"eyeriss_small": (100352.00069633611, 249681143.2229596, 1605632.0111413754, 1605632.0111413754),
        "eyeriss_large": (50176.00034816805, 249681143.2229596, 1605632.0111413754, 1605632.0111413754),
        "simba_small": (3136.000021760502, 115624207.81835635, 802816.0055706891, 802816.0055706891),
        "simba_large": (1568.0000108802508, 120765998.64443111, 802816.0055706891, 802816.0055706891)},
    87: {"eyeriss_small": (12800.30016300209, 275137682.0709257, 4113338.515816228, 1999.9997253563188),
        "eyeriss_large": (5119.920610989417, 274827769.92212266, 4100172.207516531, 1999.9997253563188),
        "simba_small": (7999.999516273093, 137477722.54321104, 2049686.8643864298, 999.9998578910719),
        "simba_large": (3999.999827929489, 137484977.77258688, 2049764.0694708128, 999.9998578910719)},
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
