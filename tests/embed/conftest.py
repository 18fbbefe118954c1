"""Fixtures of the embedding tests: small synthetic graphs with known structure."""

from __future__ import annotations

import numpy as np
import pytest

from graphkit.csr import CSRGraph
from graphkit.io import csr_from_matrix, read_mat
from tests.conftest import dataset


def planted_partition(sizes, p_in, p_out, seed=0, isolated=0) -> tuple[CSRGraph, np.ndarray]:
    """Stochastic block model (undirected) plus ``isolated`` edgeless vertices at the end.

    Returns the graph and the planted block of every vertex (-1 for isolated ones), which is
    ground truth independent of any code under test.
    """
    rng = np.random.default_rng(seed)
    block = np.repeat(np.arange(len(sizes)), sizes)
    n = block.size
    u, v = np.triu_indices(n, 1)
    prob = np.where(block[u] == block[v], p_in, p_out)
    keep = rng.random(u.size) < prob
    total = n + isolated
    graph = CSRGraph.from_edges(u[keep], v[keep], total, directed=False)
    return graph, np.concatenate([block, np.full(isolated, -1)])


@pytest.fixture(scope="module")
def sbm4():
    """Four blocks of 150 vertices, dense inside, sparse across, plus 5 isolated vertices."""
    return planted_partition([150] * 4, 0.12, 0.004, seed=1, isolated=5)


@pytest.fixture(scope="session")
def blogcatalog():
    adjacency, labels = read_mat(dataset("blogcatalog", "blogcatalog.mat"))
    return csr_from_matrix(adjacency), labels


@pytest.fixture(scope="session")
def ppi():
    adjacency, labels = read_mat(dataset("ppi_node2vec", "Homo_sapiens.mat"))
    return csr_from_matrix(adjacency), labels


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Run BLAS single-threaded, as inside a one-core Spark task: on a small shared machine a
    multi-threaded OpenBLAS spins against other processes and gets many times slower."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield
