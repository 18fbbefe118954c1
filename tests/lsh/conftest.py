"""Fixtures for the LSH tests: small synthetic graphs and email-Eu-core (skipped when absent)."""

from __future__ import annotations

import numpy as np
import pytest

from graphkit import io
from graphkit.csr import CSRGraph
from graphkit.lsh import LSHIndex
from tests.conftest import dataset


def neighbour_sets(graph: CSRGraph) -> dict:
    """{user id: set of neighbour user ids}, built with plain Python (independent truth)."""
    ids = graph.ids.tolist()
    out = {}
    for i, uid in enumerate(ids):
        out[uid] = {ids[j] for j in graph.indices[graph.indptr[i] : graph.indptr[i + 1]].tolist()}
    return out


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


@pytest.fixture(scope="session")
def email_graph() -> CSRGraph:
    return io.load_csr(dataset("email_eu_core", "email-Eu-core.txt"), directed=False)


@pytest.fixture(scope="session")
def email_index(email_graph) -> LSHIndex:
    return LSHIndex.from_graph(email_graph, num_perm=128)


@pytest.fixture(scope="session")
def departments(email_graph) -> list:
    labels = io.read_labels(dataset("email_eu_core", "email-Eu-core-department-labels.txt"))
    return io.communities_from_labels(labels)


@pytest.fixture
def random_graph() -> CSRGraph:
    """A random undirected graph with 300 vertices, arbitrary (non-contiguous) user ids."""
    rng = np.random.default_rng(7)
    src = rng.integers(0, 300, 3000)
    dst = rng.integers(0, 300, 3000)
    ids = np.sort(rng.choice(10**6, 300, replace=False)).astype(np.int64)
    return CSRGraph.from_edges(src, dst, 300, ids=ids, directed=False)
