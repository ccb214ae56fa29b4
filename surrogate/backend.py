"""The ``surrogate`` cost backend: a trained :class:`~surrogate.model.SurrogateModel` behind the CostBackend protocol.

``get_backend("surrogate:default")`` (entry point ``surrogate = "surrogate.backend:SurrogateBackend"``)
loads the shipped model; ``surrogate:/path/to/model`` loads another. ``evaluate_many`` predicts a
whole batch in one vectorised call, so a layer table costs one XGBoost call per SA class.

What the rows hold: ``cycles``, ``energy_pj``, ``dram_read_bytes`` and ``dram_write_bytes`` are
predictions; ``utilization`` is derived from the predicted cycles (MACs / (cycles × MAC units),
capped at 1); ``mapping`` names the model (a surrogate chooses no mapping) and
``energy_breakdown_pj`` is empty (the model predicts the total only). Queries outside the
training ranges warn once per SA spec (:class:`~surrogate.model.SurrogateRangeWarning`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from hwmodel.cost import LayerCost
from hwmodel.spec import AcceleratorSpec
from surrogate.features import query_columns
from surrogate.model import SurrogateModel
from workloads.layer import Layer


class SurrogateBackend:
    """Cost backend that predicts instead of mapping. ``model``: a shipped name or a model folder."""

    name = "surrogate"
    version = "1"

    def __init__(self, model: str | SurrogateModel = "default"):
        # no **options on purpose: hwmodel.tables.make_backend then passes no mapper objective / seed,
        # which mean nothing to a surrogate (it predicts what its training backend's mapper chose)
        self.model = model if isinstance(model, SurrogateModel) else SurrogateModel.load(model or "default")
        self.model_ref = str(model) if not isinstance(model, SurrogateModel) else self.model.model_id
        self._checked: set[str] = set()

    def cache_options(self) -> dict[str, Any]:
        """Cache keys depend on the model's content, not on its path."""
        return {"model_id": self.model.model_id}

    def __getstate__(self) -> dict[str, Any]:  # boosters pickle through their raw bytes (joblib / Dask)
        return {"model_ref": self.model_ref, "model": self.model, "_checked": set()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def evaluate(self, layer: Layer, accelerator: AcceleratorSpec) -> LayerCost:
        return self.evaluate_many([layer], accelerator)[0]

    def evaluate_many(self, layers: list[Layer], accelerator: AcceleratorSpec) -> list[LayerCost]:
        """Predict every layer on ``accelerator`` in one batch."""
        if not layers:
            return []
        spec = accelerator if accelerator.is_resolved else accelerator.resolved()
        df = query_columns(list(layers), spec)
        first = spec.content_hash not in self._checked
        self._checked.add(spec.content_hash)
        with warnings.catch_warnings():
            if not first:
                warnings.simplefilter("ignore")
            pred = self.model.predict_frame(df, check_ranges=first)
        cycles = np.maximum(np.rint(pred["cycles"]), 1).astype(np.int64)
        energy = pred["energy_pj"]
        rd = np.rint(pred["dram_read_bytes"]).astype(np.int64)
        wr = np.rint(pred["dram_write_bytes"]).astype(np.int64)
        label = f"surrogate model {self.model.metadata.get('name', '?')} ({self.model.model_id})"
        out = []
        for i, layer in enumerate(layers):
            util = min(1.0, layer.macs / (int(cycles[i]) * spec.mac_units)) if layer.is_mac else 0.0
            out.append(LayerCost(
                cycles=int(cycles[i]), energy_pj=float(energy[i]), dram_read_bytes=int(rd[i]),
                dram_write_bytes=int(wr[i]), utilization=float(util), energy_breakdown_pj={},
                mapping=label, backend=self.name,
            ))
        return out
