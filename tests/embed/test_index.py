"""EmbeddingIndex: the local query object over an embeddings artifact, against brute force."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from graphkit.embed import EmbeddingIndex, save_embeddings
from graphkit.errors import ArtifactError, UnknownVertexError


def _brute_force(ids, x, vertex, k):
    x = x.astype(np.float64)
    row = list(ids).index(vertex)
    norms = np.linalg.norm(x, axis=1)
    cosine = x @ x[row] / np.where(norms == 0, 1, norms) / (norms[row] or 1)
    cosine[row] = -np.inf
    order = np.argsort(-cosine, kind="stable")[:k]
    return [ids[i] for i in order], cosine[order]


@pytest.mark.parametrize("string_ids", [False, True])
def test_neighbors_match_brute_force_cosine(string_ids):
    rng = np.random.default_rng(7)
    n, dim = 300, 12
    numbers = rng.choice(10_000, size=n, replace=False)
    ids = [f"v{i}" for i in numbers] if string_ids else numbers.tolist()
    x = rng.standard_normal((n, dim)).astype(np.float32)
    x[5] *= 40.0  # scale must not matter: cosine, not dot product
    index = EmbeddingIndex(ids, x)
    assert len(index) == n and index.dim == dim and list(index.ids) == ids
    for vertex in (ids[0], ids[5], ids[123], ids[-1]):
        for k in (1, 10, n - 1):
            got = index.neighbors(vertex, k)
            want_ids, want_scores = _brute_force(ids, x, vertex, k)
            assert [i for i, _ in got] == want_ids
            np.testing.assert_allclose([s for _, s in got], want_scores, rtol=0, atol=1e-5)
            assert vertex not in [i for i, _ in got]
    assert len(index.neighbors(ids[0], 10 * n)) == n - 1  # k beyond n - 1 is capped
    np.testing.assert_array_equal(index.vector(ids[42]), x[42])


def test_zero_vectors_and_unknown_ids():
    index = EmbeddingIndex([1, 2, 3], [[1.0, 0.0], [0.0, 0.0], [0.6, 0.8]])
    assert index.neighbors(1, 2) == [(3, pytest.approx(0.6)), (2, 0.0)]
    assert [s for _, s in index.neighbors(2, 2)] == [0.0, 0.0]
    with pytest.raises(UnknownVertexError, match="unknown vertex id 9"):
        index.neighbors(9, 1)
    with pytest.raises(UnknownVertexError):
        index.vector(9)
    with pytest.raises(ValueError):
        EmbeddingIndex([1, 2], np.zeros((3, 2)))


def test_load_reads_an_artifact_with_its_checks(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, 4)).astype(np.float32)
    graph = {"fingerprint": "abc", "num_vertices": 50, "num_edges": 70}
    save_embeddings(np.arange(50)[::-1], x[::-1], tmp_path / "emb", graph=graph)
    index = EmbeddingIndex.load(tmp_path / "emb", verify="full")
    assert index.graph_fingerprint["fingerprint"] == "abc" and index.params["dim"] == 4
    assert index.ids.tolist() == list(range(50))  # sorted by id, rows follow
    np.testing.assert_array_equal(index.vector(7), x[7])
    assert [i for i, _ in index.neighbors(3, 5)] == _brute_force(list(range(50)), x, 3, 5)[0]
    with pytest.raises(ArtifactError):
        EmbeddingIndex.load(tmp_path / "missing")


def test_index_module_never_imports_pyspark():
    code = (
        "import sys, graphkit.embed.index\n"
        "assert graphkit.embed.index.EmbeddingIndex is not None\n"
        "assert 'pyspark' not in sys.modules, 'pyspark imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
