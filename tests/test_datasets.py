"""graphkit.datasets: the embedded demo graph, the R-MAT generator and where the data sets are."""

from __future__ import annotations

import numpy as np
import pytest

from graphkit import io
from graphkit.datasets import (
    GRAPH500_EDGE_FACTOR, planted_partition, planted_partition_edges, rmat_edges, shared_dataset, write_edge_list, write_parquet_edges)


def test_planted_partition_has_the_communities_it_promises():
    graph, labels = planted_partition(num_communities=6, community_size=50, mean_degree_in=10, mean_degree_out=1, seed=3)
    assert graph.num_vertices == 300 and not graph.directed
    assert np.array_equal(np.bincount(labels), [50] * 6)
    src = np.repeat(np.arange(graph.num_vertices), graph.out_degree())
    inside = labels[src] == labels[graph.indices]
    degree = graph.out_degree().mean()
    assert 9 < degree < 13  # about 10 inside + 1 outside
    assert 0.85 < inside.mean() < 0.95  # 10 of 11 neighbours in the own community, in expectation


def test_planted_partition_is_deterministic_per_seed():
    a, _ = planted_partition(seed=7)
    b, _ = planted_partition(seed=7)
    c, _ = planted_partition(seed=8)
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    assert not (np.array_equal(a.indptr, c.indptr) and np.array_equal(a.indices, c.indices))


def test_edge_list_round_trip(tmp_path):
    graph, _ = planted_partition(num_communities=3, community_size=20, seed=1)
    path = write_edge_list(graph, tmp_path / "sub" / "g.txt", comment="two\nlines")
    text = path.read_text().splitlines()
    assert text[:2] == ["# two", "# lines"] and not list(tmp_path.glob("sub/*.tmp"))
    back = io.load_csr(path, directed=False)
    assert np.array_equal(back.indptr, graph.indptr) and np.array_equal(back.indices, graph.indices)
    assert len(text) - 2 == graph.indices.shape[0] // 2  # each undirected edge written once


def test_rmat_size_range_and_skew():
    chunks = list(rmat_edges(12, seed=5, chunk=10_000))
    src = np.concatenate([s for s, _ in chunks])
    dst = np.concatenate([d for _, d in chunks])
    assert len(chunks) == -(-GRAPH500_EDGE_FACTOR * 4096 // 10_000)  # bounded chunks
    assert src.shape[0] == GRAPH500_EDGE_FACTOR << 12
    assert src.min() >= 0 and max(src.max(), dst.max()) < 1 << 12
    degree = np.bincount(np.concatenate([src, dst]), minlength=1 << 12)
    assert degree.max() > 20 * degree.mean()  # power-law head, unlike an Erdos-Renyi graph
    # scrambled ids: the hubs are not simply the smallest ids
    assert np.argsort(-degree)[:10].min() > 0 or np.argsort(-degree)[:10].max() > 100


def test_rmat_is_deterministic_and_validates():
    first = next(rmat_edges(8, seed=1))
    again = next(rmat_edges(8, seed=1))
    assert all(np.array_equal(x, y) for x, y in zip(first, again))
    with pytest.raises(ValueError, match="probabilities"):
        next(rmat_edges(8, probabilities=(0.5, 0.3, 0.3)))
    with pytest.raises(ValueError, match="scale"):
        next(rmat_edges(0))


def test_large_planted_partition_has_the_promised_mixing_and_sizes():
    labels, chunks = planted_partition_edges(12, community_size=100, mixing=0.3, seed=4, chunk=9_000)
    chunks = list(chunks)
    src = np.concatenate([s for s, _ in chunks])
    dst = np.concatenate([d for _, d in chunks])
    assert len(chunks) == -(-GRAPH500_EDGE_FACTOR * 4096 // 9_000) and src.shape[0] == GRAPH500_EDGE_FACTOR << 12
    assert min(src.min(), dst.min()) >= 0 and max(src.max(), dst.max()) < 4096
    sizes = np.bincount(labels)
    assert sizes.tolist() == [100] * 40 + [96]  # 4096 = 40 x 100 + 96: the last community is short
    # 70 % of the edges stay inside by construction, plus the random ends that land inside
    # (0.3 x 100 / 4096 = 0.7 %); 65,536 edges put the standard error near 0.2 %
    inside = (labels[src] == labels[dst]).mean()
    assert 0.700 < inside < 0.714, inside
    # the ids are scrambled: a community is not a block of consecutive ids
    assert np.ptp(np.flatnonzero(labels == labels[0])) > 1000
    again_labels, again = planted_partition_edges(12, community_size=100, mixing=0.3, seed=4, chunk=9_000)
    assert np.array_equal(again_labels, labels) and np.array_equal(next(again)[0], chunks[0][0])
    for bad, message in (({"mixing": 1.5}, "mixing"), ({"community_size": 1}, "community_size"),
                         ({"scale": 0}, "scale")):
        with pytest.raises(ValueError, match=message):
            planted_partition_edges(**{"scale": 8, **bad})


def test_parquet_edges_round_trip(tmp_path):
    import pyarrow.parquet as pq

    chunks = list(rmat_edges(6, seed=2, chunk=300))
    path = write_parquet_edges(iter(chunks), tmp_path / "e.parquet")
    table = pq.read_table(path)
    assert table.column_names == ["src", "dst"] and str(table.schema.field("src").type) == "int64"
    assert np.array_equal(table.column("src").to_numpy(), np.concatenate([s for s, _ in chunks]))


def test_shared_dataset_honours_the_environment(tmp_path, monkeypatch):
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "g.txt").write_text("1 2\n")
    monkeypatch.setenv("GRAPHKIT_DATASETS", str(tmp_path))
    assert shared_dataset("toy", "g.txt") == (tmp_path / "toy" / "g.txt").resolve()
    assert shared_dataset("toy", "absent.txt") is None
    monkeypatch.setenv("GRAPHKIT_DATASETS", str(tmp_path / "nowhere"))
    assert shared_dataset("toy", "g.txt") is None  # only there, when set


def test_shared_dataset_beside_the_checkout(tmp_path, monkeypatch):
    monkeypatch.delenv("GRAPHKIT_DATASETS", raising=False)
    (tmp_path / "shared" / "datasets" / "toy").mkdir(parents=True)
    (tmp_path / "checkout" / "notebooks").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "checkout")
    assert shared_dataset("toy") == (tmp_path / "shared" / "datasets" / "toy").resolve()
    monkeypatch.chdir(tmp_path / "checkout" / "notebooks")
    assert shared_dataset("toy") == (tmp_path / "shared" / "datasets" / "toy").resolve()
