"""The ``surrogate`` cost backend: LayerCosts, layer tables with the usual columns, pickling."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

from hwmodel.cost import CostBackend, LayerCost
from hwmodel.spec import load_accelerator
from hwmodel.tables import COLUMNS, LayerTable, build_table
from mascot.errors import MascotError
from surrogate.backend import SurrogateBackend
from surrogate.dataset import generate, load_dataset
from surrogate.model import SurrogateModel, TrainConfig, train
from workloads.zoo import load_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("surrogate-backend")
    generate(folder / "data", samples=60, seed=21, zoo=False, n_jobs=1, progress=False, chunk_rows=60)
    model = train(load_dataset(folder / "data"), TrainConfig(trials=1, n_threads=1, max_trees=25, seed=0), name="t")
    return model.save(folder / "model")


def test_backend_protocol_and_costs(model_dir):
    backend = SurrogateBackend(str(model_dir))
    assert isinstance(backend, CostBackend)
    spec = load_accelerator("simba_small")
    layers = load_model("kws").layers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a 60-row model has narrow ranges
        costs = backend.evaluate_many(layers, spec)
    assert len(costs) == len(layers) and all(isinstance(c, LayerCost) for c in costs)
    for layer, cost in zip(layers, costs):
        assert cost.cycles >= 1 and cost.energy_pj > 0 and cost.backend == "surrogate"
        assert 0.0 <= cost.utilization <= 1.0
        if not layer.is_mac:
            assert cost.utilization == 0.0
    single = backend.evaluate(layers[0], spec)
    assert single == costs[0]  # one at a time or batched: the same prediction


def test_table_has_the_analytical_columns(model_dir, tmp_path):
    backend = SurrogateBackend(str(model_dir))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a 60-row model has narrow ranges
        table = build_table(["kws"], ["eyeriss_small", "simba_small"], backend=backend, cache=tmp_path / "cache",
                            n_jobs=1, progress=False)
    assert list(table.frame.columns) == list(COLUMNS)
    assert set(table.frame["backend"]) == {"surrogate"}
    assert table.metadata["mascot.backend"] == "surrogate"
    f = table.frame
    np.testing.assert_allclose(f["latency_s"], f["cycles"] / 1e9)
    assert (f["dram_bytes"] == f["dram_read_bytes"] + f["dram_write_bytes"]).all()
    assert len(f) == 2 * len(load_model("kws").layers)
    path = table.save(tmp_path / "t.parquet")
    again = LayerTable.load(path)
    assert again.frame["cycles"].tolist() == f["cycles"].tolist()
    # a second build reads the cache (keyed by the model's content) and gives the same rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cached = build_table(["kws"], ["eyeriss_small", "simba_small"], backend=backend, cache=tmp_path / "cache",
                             n_jobs=1, progress=False)
    assert cached.frame["energy_pj"].tolist() == f["energy_pj"].tolist()


def test_backend_pickles_for_worker_processes(model_dir):
    backend = SurrogateBackend(str(model_dir))
    clone = pickle.loads(pickle.dumps(backend))
    spec = load_accelerator("eyeriss_large")
    layer = load_model("kws").layers[0]
    assert clone.evaluate(layer, spec) == backend.evaluate(layer, spec)
    assert clone.cache_options() == backend.cache_options()


def test_backend_rejects_unknown_models(model_dir):
    with pytest.raises(MascotError, match="not found"):
        SurrogateBackend("/no/such/model")


def test_backend_takes_a_loaded_model(model_dir):
    model = SurrogateModel.load(model_dir)
    backend = SurrogateBackend(model)
    assert backend.cache_options() == {"model_id": model.model_id}


def test_shipped_default_model_covers_the_table1_classes():
    """``surrogate:default`` loads, knows its provenance, and predicts real layers without range warnings."""
    backend = SurrogateBackend("default")
    meta = backend.model.metadata
    assert meta["backend"]["name"] == "analytical" and meta["dataset"]["rows"] > 10_000
    layers = load_model("resnet18").layers
    for name in ("eyeriss_small", "eyeriss_large", "simba_small", "simba_large"):
        spec = load_accelerator(name)
        assert meta["spec_hash"][name] == spec.content_hash  # trained on today's Table-1 specs
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            costs = backend.evaluate_many(layers, spec)
        macs = sum(layer.macs for layer in layers)
        cycles = sum(c.cycles for c in costs)
        assert spec.mac_units * cycles >= 0.5 * macs  # no impossible utilisation in total
        assert all(c.energy_pj > 0 for c in costs)
