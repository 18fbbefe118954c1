"""The whole-graph refinement in Spark (graphkit.embed.blockrows) against the one-machine kernels.

Ground truth is :mod:`graphkit.embed.kernels` on the collected graph. The Spark version splits
the rows into several blocks here, so every product really exchanges halo rows between tasks.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from graphkit.embed import kernels as K
from graphkit.embed.blockrows import BlockRows, spark_refinement
from graphkit.embed.distributed import undirected_edges
from graphkit.embed.spark import _dense_rows
from graphkit.graph import Graph
from graphkit.sparkio import Scratch
from tests.conftest import dataset

pytestmark = pytest.mark.spark

DIM = 16
WIDTH = DIM + 16  # the eigensolver's block: K.top_eigenpairs's k + max(16, k // 4)


@pytest.fixture(scope="module")
def email(spark):
    """email-Eu-core in Spark and on the driver, split into 4 parts of at most 300 vertices."""
    graph = Graph.read(dataset("email_eu_core", "email-Eu-core.txt"), spark=spark, directed=False)
    a = K.adjacency(graph.to_csr())
    parts = K.recursive_partition(a, 300, 0)
    scratch = Scratch(spark, "test-blockrows")
    edges = scratch.freeze(undirected_edges(graph), "edges")
    parts_frame = spark.createDataFrame([(v, int(p)) for v, p in enumerate(parts)], "v long, part long")
    yield graph, a, parts, edges, parts_frame
    scratch.close()


def _frame(spark, x: np.ndarray):
    return spark.createDataFrame([(v, row.tolist()) for v, row in enumerate(x)], "id long, embedding array<float>")


def test_blocks_exchange_exactly_the_halo_the_products_need(spark, email):
    graph, a, parts, edges, parts_frame = email
    n = a.shape[0]
    x = np.random.default_rng(3).standard_normal((n, 4)).astype(np.float32)
    rows = BlockRows.from_frames(edges, parts_frame, _frame(spark, x), int(parts.max()) + 1, block_rows=300)
    assert rows.num_blocks == 4
    blocks = dict(rows.rdd.collect())
    # every block is a run of whole parts, and together they hold every vertex once
    assert sorted(np.concatenate([b.ids for b in blocks.values()]).tolist()) == list(range(n))
    owner = {}
    for number, b in blocks.items():
        for part in set(parts[b.ids].tolist()):
            assert owner.setdefault(part, number) == number, f"part {part} is split between blocks"
    # what a block sends to another is what that one receives, in the same order
    for number, b in blocks.items():
        for target, local_rows in b.send:
            receiver = blocks[target]
            width = receiver.recv[number].stop - receiver.recv[number].start
            assert width == local_rows.size > 0
    # the three operators against scipy on the whole graph
    a_tilde = (a + sp.eye(n)).tocsr()
    expected = {"spectral": K.spectral_operator(a) @ x,
                "walk": (a_tilde / np.asarray(a_tilde.sum(axis=1))) @ x,
                "tilde": a_tilde @ x}
    products = rows.map(lambda block: {"q": block.arrays["start"].astype(np.float64)})
    for name in expected:
        products = products.product(name, "q", lambda block, p, name=name: {name: p})
    got = {name: np.zeros_like(want) for name, want in expected.items()}
    for _, block in products.rdd.collect():
        for name in expected:
            got[name][block.ids] = block.arrays[name]
    products.release()
    for name, want in expected.items():
        np.testing.assert_allclose(got[name], want, rtol=1e-9, atol=1e-9, err_msg=name)


def test_spark_refinement_equals_the_one_machine_kernel(spark, email):
    """Same start, same steps: the Spark eigensolver + propagation give the driver's embedding.

    The start is as wide as the eigensolver's block, so no random column is drawn on either side;
    TSQR and Householder QR may differ in column signs, which the row Gram matrix ignores.
    """
    graph, a, parts, edges, parts_frame = email
    n = a.shape[0]
    start = np.random.default_rng(1).standard_normal((n, WIDTH)).astype(np.float32)
    frame, release = spark_refinement(edges, parts_frame, _frame(spark, start), int(parts.max()) + 1, DIM,
                                      iterations=1, seed=0, block_rows=300)
    got = _dense_rows(frame, n, DIM)
    release()
    want = K.spectral_embed(a, DIM, 0, rounds=1, start=start.astype(np.float64))
    assert got.shape == want.shape == (n, DIM)
    np.testing.assert_allclose(got @ got.T, want @ want.T, atol=2e-5)
    # and the answer is a real embedding, not a degenerate one: unit rows but for isolated vertices
    norms = np.linalg.norm(got, axis=1)
    assert np.all((np.abs(norms - 1) < 1e-5) | (norms == 0)) and (norms > 0).sum() > 0.95 * n


def test_private_pyspark_routes_fall_back_to_the_public_api():
    """graphkit._jvm's helpers use PySpark internals only when present; otherwise the public calls."""
    from graphkit import _jvm

    calls = []

    class PublicOnly:  # an RDD-like object without PySpark's private attributes
        def count(self):
            calls.append("count")
            return 3

        def union(self, other):
            calls.append("union")
            return "union"

    _jvm.materialize_in_jvm(PublicOnly())
    assert _jvm.union_keeping_serializer(PublicOnly(), PublicOnly()) == "union"
    assert calls == ["count", "union"]


def test_union_keeping_serializer_keeps_partitions_aligned(spark):
    from graphkit import _jvm

    sc = spark.sparkContext
    own = sc.parallelize([(b, f"block{b}") for b in range(3)]).partitionBy(3)
    halo = sc.parallelize([(b, f"msg{b}") for b in (2, 0, 1, 2)]).partitionBy(3).mapPartitions(
        lambda rows: rows, preservesPartitioning=True)
    union = _jvm.union_keeping_serializer(own, halo)
    assert union.partitioner == own.partitioner and union.getNumPartitions() == 3
    by_partition = union.glom().collect()
    assert [sorted({key for key, _ in rows}) for rows in by_partition] == [[0], [1], [2]]
    assert sorted(v for rows in by_partition for _, v in rows) == sorted(
        ["block0", "block1", "block2", "msg0", "msg1", "msg2", "msg2"])
    _jvm.materialize_in_jvm(union)  # counts on the JVM without error
