"""``mascot surrogate dataset|train|info|eval`` end to end on a tiny data set."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mascot.cli import main


def test_dataset_train_info(tmp_path, capsys):
    data, model = tmp_path / "data", tmp_path / "model"
    assert main(["surrogate", "dataset", "-o", str(data), "--samples", "40", "--no-zoo", "-j", "1", "--seed", "3"]) == 0
    assert (data / "plan.json").is_file() and list(data.glob("chunk-*.parquet"))
    assert main(["surrogate", "train", str(data), "-o", str(model), "--trials", "1", "--max-trees", "20",
                 "--threads", "1"]) == 0
    capsys.readouterr()
    assert main(["surrogate", "info", str(model), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["name"] == "model" and meta["dataset"]["rows"] > 20 and meta["backend"]["name"] == "analytical"


def test_user_errors_exit_2(tmp_path):
    assert main(["surrogate", "info", str(tmp_path / "missing")]) == 2
    assert main(["surrogate", "train", str(tmp_path / "missing"), "-o", str(tmp_path / "m")]) == 2
    assert main(["surrogate", "train", str(tmp_path), "-o", str(tmp_path / "m"), "--max-depth", "3"]) == 2
    data = tmp_path / "d"
    assert main(["surrogate", "dataset", "-o", str(data), "--samples", "2", "--no-zoo", "-j", "1"]) == 0
    # same folder, another seed: refused instead of mixing two data sets
    assert main(["surrogate", "dataset", "-o", str(data), "--samples", "2", "--no-zoo", "-j", "1", "--seed", "9"]) == 2


@pytest.mark.slow
def test_eval_writes_the_report(tmp_path, capsys):
    data, model, report = tmp_path / "data", tmp_path / "model", tmp_path / "report"
    assert main(["surrogate", "dataset", "-o", str(data), "--samples", "60", "--no-zoo", "-j", "1"]) == 0
    assert main(["surrogate", "train", str(data), "-o", str(model), "--trials", "1", "--max-trees", "20",
                 "--threads", "1"]) == 0
    assert main(["surrogate", "eval", str(model), "-o", str(report), "--data", str(data), "--random", "8",
                 "--hardware", "8", "--models", "kws", "-j", "1"]) == 0
    for name in ("metrics.csv", "predictions.parquet", "speed.json", "parity.png"):
        assert (report / name).is_file(), name
    metrics = pd.read_csv(report / "metrics.csv")
    assert set(metrics["set"]) == {"random", "zoo", "hardware"}
    assert set(metrics["predictor"]) == {"xgboost", "ridge", "random_forest"}
    assert set(metrics["target"]) == {"cycles", "energy_pj", "dram_bytes"}
    speed = json.loads((report / "speed.json").read_text())
    assert speed["batched_predictions_per_s"] > 0 and speed["speedup_single"] > 0
    assert speed["batched_distinct_predictions_per_s"] > 0
