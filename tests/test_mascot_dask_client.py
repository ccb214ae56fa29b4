"""mascot.dask_client.map_unordered on a real in-process Dask cluster, and the surrogate data set through it."""

from __future__ import annotations

import pandas as pd
import pytest

from mascot.dask_client import map_unordered
from mascot.errors import MascotError

distributed = pytest.importorskip("distributed")


def _scaled(factor: int, x: int) -> int:
    return factor * x


def _square(x: int) -> int:
    return x * x


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as c:
        yield c


def test_every_call_comes_back_once_with_its_key(cluster):
    out = dict(map_unordered(cluster.scheduler_address, _square, ((f"k{i}", (i,)) for i in range(7))))
    assert out == {f"k{i}": i * i for i in range(7)}


def test_shared_object_is_the_first_argument(cluster):
    out = dict(map_unordered(cluster.scheduler_address, _scaled, ((i, (i,)) for i in range(5)), shared=3))
    assert out == {i: 3 * i for i in range(5)}


def test_unreachable_scheduler_is_a_user_error():
    with pytest.raises(MascotError, match="Dask scheduler"):
        list(map_unordered("tcp://127.0.0.1:9", _square, [(0, (1,))], timeout_s=1))


def test_surrogate_dataset_on_dask_equals_the_local_one(cluster, tmp_path):
    from surrogate.dataset import generate, load_dataset

    generate(tmp_path / "local", samples=20, seed=3, zoo=False, n_jobs=1, progress=False, chunk_rows=8)
    generate(tmp_path / "dask", samples=20, seed=3, zoo=False, progress=False, chunk_rows=8,
             dask_address=cluster.scheduler_address)
    pd.testing.assert_frame_equal(load_dataset(tmp_path / "local", drop_failed=False),
                                  load_dataset(tmp_path / "dask", drop_failed=False))
