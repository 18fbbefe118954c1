"""Local side: Parquet round trip with pyarrow, and the in-process pipeline."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from graphkit.csr import CSRGraph
from graphkit.embed import embed_csr, load_embeddings
from graphkit.errors import ArtifactError, EmptyGraphError
from tests.embed.conftest import planted_partition


def _write_spark_like(directory, ids, matrix, files=3):
    directory.mkdir()
    (directory / "_SUCCESS").write_text("")
    for k, chunk in enumerate(np.array_split(np.arange(len(ids)), files)):
        table = pa.table({
            "id": pa.array(ids[chunk]),
            "embedding": pa.array([list(map(float, row)) for row in matrix[chunk]],
                                  type=pa.list_(pa.float32())),
        })
        pq.write_table(table, directory / f"part-{k:05d}-abc.snappy.parquet")


def test_load_embeddings_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    ids = rng.permutation(np.arange(100, 140))
    matrix = rng.standard_normal((40, 6)).astype(np.float32)
    _write_spark_like(tmp_path / "emb", ids, matrix)
    got_ids, got = load_embeddings(tmp_path / "emb", unverified=True)
    order = np.argsort(ids)
    assert np.array_equal(got_ids, ids[order])
    assert got.dtype == np.float32 and np.array_equal(got, matrix[order])


def test_load_embeddings_string_ids(tmp_path):
    ids = np.array(["b", "a", "c"])
    _write_spark_like(tmp_path / "emb", ids, np.eye(3, dtype=np.float32), files=1)
    got_ids, got = load_embeddings(tmp_path / "emb", unverified=True)
    assert got_ids.tolist() == ["a", "b", "c"]
    assert got.tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 1]]


def test_load_embeddings_errors_name_the_problem(tmp_path):
    with pytest.raises(ArtifactError, match="no such"):
        load_embeddings(tmp_path / "missing", unverified=True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactError, match="no Parquet"):
        load_embeddings(tmp_path / "empty", unverified=True)
    pq.write_table(pa.table({"vertex": [1], "vec": [[1.0]]}), tmp_path / "cols.parquet")
    with pytest.raises(ArtifactError, match=r"found \['vertex', 'vec'\]"):
        load_embeddings(tmp_path / "cols.parquet", unverified=True)
    pq.write_table(pa.table({"id": [1, 2], "embedding": [[1.0], [1.0, 2.0]]}), tmp_path / "rag.parquet")
    with pytest.raises(ArtifactError, match="lengths"):
        load_embeddings(tmp_path / "rag.parquet", unverified=True)
    pq.write_table(pa.table({"id": [1, 1], "embedding": [[1.0], [2.0]]}), tmp_path / "dup.parquet")
    with pytest.raises(ArtifactError, match="more than once"):
        load_embeddings(tmp_path / "dup.parquet", unverified=True)


def test_embed_csr_whole_and_partitioned_agree_on_structure():
    """Partitioning changes coordinates, not structure: both embeddings recover the planted
    blocks, assign vertices to the same blocks, and rank vertex pairs by similarity alike."""
    graph, truth = planted_partition([120] * 4, 0.15, 0.005, seed=4)
    labels, cosines = [], []
    pairs = np.random.default_rng(0).integers(0, 480, size=(2000, 2))
    for max_part_size in (None, 130):
        ids, x = embed_csr(graph, dim=16, max_part_size=max_part_size, seed=0)
        assert np.array_equal(ids, graph.ids) and x.shape == (480, 16)
        centroids = np.stack([x[truth == b].mean(axis=0) for b in range(4)])
        labels.append(np.argmax(x @ centroids.T, axis=1))
        assert np.mean(labels[-1] == truth) > 0.95
        unit = x / np.linalg.norm(x, axis=1, keepdims=True)
        cosines.append(np.sum(unit[pairs[:, 0]] * unit[pairs[:, 1]], axis=1))
    assert np.mean(labels[0] == labels[1]) > 0.95
    assert np.corrcoef(cosines[0], cosines[1])[0, 1] > 0.8


def test_embed_csr_validates():
    graph, _ = planted_partition([30, 30], 0.3, 0.05, seed=0)
    with pytest.raises(ValueError, match="max_part_size=32 is too small for dim=16"):
        embed_csr(graph, dim=16, max_part_size=32)
    with pytest.raises(ValueError, match="dim=60"):
        embed_csr(graph, dim=60)
    with pytest.raises(ValueError, match="dim=0"):
        embed_csr(graph, dim=0)
    edgeless = CSRGraph(np.zeros(6, dtype=np.int64), np.zeros(0, dtype=np.int32), None,
                        np.arange(5), directed=False)
    with pytest.raises(EmptyGraphError, match="only isolated"):
        embed_csr(edgeless, dim=2)
