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
# sha256 of the float32 booster margins (targets in metadata order) of every paper layer on the four classes
RECORDED_MARGINS_SHA256 = "dfb38f20ff1d07dd98563c2a2d64bc56410bdcfa9d4e3b1973430672bee7c686"
# resnet50 layer index -> class -> (cycles, energy_pj, dram_read_bytes, dram_write_bytes), recorded
RECORDED = {
    0: {"eyeriss_small": (521277.90900075436, 780727779.9340006, 883265.4006661694, 1605025.1788166866),
        "eyeriss_large": (264078.04663715657, 737189575.2797068, 1144214.181851889, 1605646.8018956734),
        "simba_small": (616728.4431026564, 401180218.3217501, 165695.61063104135, 802898.6686812184),
        "simba_large": (616217.5724381094, 398988682.54480094, 166420.88566977493, 802866.3397728342)},
    5: {"eyeriss_small": (201182.79496260782, 400881835.2954885, 598938.5218963615, 1605345.6048970304),
        "eyeriss_large": (101117.05157287593, 398336072.64839834, 549851.4102419831, 1605571.0490454931),
        "simba_small": (201680.16212953045, 161837396.98563427, 219877.7182531894, 802846.5451801651),
        "simba_large": (100320.20328964939, 160924733.28558964, 209002.58546483354, 802892.265447643)},
    17: {"eyeriss_small": (100352.00069633611, 249681143.2229596, 1605632.0111413754, 1605632.0111413754),
        "eyeriss_large": (50176.00034816805, 249681143.2229596, 1605632.0111413754, 1605632.0111413754),
        "simba_small": (3136.000021760502, 115624207.81835635, 802816.0055706891, 802816.0055706891),
        "simba_large": (1568.0000108802508, 120765998.64443111, 802816.0055706891, 802816.0055706891)},
    87: {"eyeriss_small": (12745.773342224586, 278194183.6323623, 3985302.033299493, 1999.9325915075603),
        "eyeriss_large": (5112.1860537299635, 268601903.56889635, 4047183.044081847, 1999.9325915075603),
        "simba_small": (8014.505265140357, 137269583.69752273, 2077039.608160938, 1000.0404456115073),
        "simba_large": (3999.532972432646, 135790956.24736384, 2067611.3546623406, 1000.0404456115073)},
}


def plain_predict(model: SurrogateModel, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The reference path: every row through XGBoost itself, no de-duplication, no numpy forest."""
    x = np.ascontiguousarray(feature_matrix(frame), dtype=np.float32)
    off = target_offsets(x, model.metadata.get("offsets", {}))
    closed = _closed_form_rows(x, model.metadata)
    return {t: from_log(_add_offset(np.asarray(b.inplace_predict(x), dtype=np.float32), off.get(t), closed))
            for t, b in model.boosters.items()}


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
    for b in model.boosters.values():
        h.update(np.asarray(b.inplace_predict(x), dtype=np.float32).tobytes())
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
