"""Evaluation protocols against answers known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from graphkit.csr import CSRGraph
from graphkit.embed.evaluation import (
    edge_scores,
    link_prediction_auc,
    node_classification,
    sample_non_edges,
    split_edges,
)
from graphkit.errors import EmptyGraphError
from tests.embed.conftest import planted_partition


def test_classification_perfect_and_chance():
    rng = np.random.default_rng(0)
    labels = np.eye(4, dtype=int)[rng.integers(0, 4, 400)]
    separable = labels * 3.0 + 0.1 * rng.standard_normal((400, 4))
    noise = rng.standard_normal((400, 4))
    good = node_classification(separable, labels, train_ratios=(0.5,), repeats=2)[0.5]
    bad = node_classification(noise, labels, train_ratios=(0.5,), repeats=2)[0.5]
    assert good["micro_f1"] > 0.99 and good["macro_f1"] > 0.99
    # Four balanced classes: chance is 0.25.
    assert 0.15 < bad["micro_f1"] < 0.35


def test_classification_gives_each_vertex_its_number_of_labels():
    # Multi-label rows: the classifier must predict exactly as many labels as a vertex has, so
    # with features that reveal the labels the score is perfect even for two-label vertices.
    rng = np.random.default_rng(1)
    labels = (rng.random((300, 5)) < 0.3).astype(int)
    labels[labels.sum(axis=1) == 0, 0] = 1
    features = labels * 4.0 + 0.05 * rng.standard_normal((300, 5))
    r = node_classification(features, labels, train_ratios=(0.5,), repeats=1)[0.5]
    assert r["micro_f1"] > 0.98


def test_classification_rejects_bad_input():
    with pytest.raises(ValueError, match="rows"):
        node_classification(np.zeros((5, 2)), np.ones((6, 1)))
    with pytest.raises(ValueError, match="train ratio"):
        node_classification(np.zeros((5, 2)), np.ones((5, 1)), train_ratios=(1.5,))


def test_split_edges_keeps_every_vertex_connected():
    graph, _ = planted_partition([60, 60], 0.2, 0.01, seed=0)
    train, positives = split_edges(graph, 0.2, seed=0)
    m = graph.num_edges // 2
    assert positives.shape == (round(0.2 * m), 2)
    assert train.num_edges // 2 == m - positives.shape[0]
    original = graph.to_scipy()
    reduced = train.to_scipy()
    # Held-out pairs are real edges of the original and absent from the reduced graph.
    assert np.all(np.asarray(original[positives[:, 0], positives[:, 1]]).ravel() > 0)
    assert np.all(np.asarray(reduced[positives[:, 0], positives[:, 1]]).ravel() == 0)
    from scipy.sparse.csgraph import connected_components

    assert connected_components(reduced)[0] == connected_components(original)[0]
    assert np.all(train.out_degree() > 0)
    again, positives2 = split_edges(graph, 0.2, seed=0)
    assert np.array_equal(positives, positives2)


def test_split_edges_refuses_impossible_fraction():
    path = CSRGraph.from_edges(np.arange(9), np.arange(1, 10), 10, directed=False)
    with pytest.raises(ValueError, match="without disconnecting"):
        split_edges(path, 0.2)
    with pytest.raises(ValueError, match="test_fraction"):
        split_edges(path, 0.0)
    with pytest.raises(EmptyGraphError):
        split_edges(CSRGraph.from_edges([0], [0], 3), 0.5)


def test_non_edges_are_non_edges():
    graph, _ = planted_partition([30, 30], 0.5, 0.05, seed=2)
    pairs = sample_non_edges(graph, 500, seed=0)
    a = graph.to_scipy()
    assert pairs.shape == (500, 2)
    assert np.all(pairs[:, 0] != pairs[:, 1])
    assert np.all(np.asarray(a[pairs[:, 0], pairs[:, 1]]).ravel() == 0)


def test_auc_of_an_oracle_embedding_is_one():
    # Embedding = block indicator: held-out edges (almost all inside blocks) score 1, and
    # non-edges (mostly across blocks) score 0.
    graph, block = planted_partition([50, 50, 50], 0.3, 0.0, seed=3)
    train, positives = split_edges(graph, 0.2, seed=0)
    oracle = np.eye(3)[block]
    auc = link_prediction_auc(oracle, graph, positives, seed=0)
    assert auc > 0.8
    random = np.random.default_rng(0).standard_normal((150, 3))
    assert link_prediction_auc(random, graph, positives, seed=0) < 0.65


def test_edge_scores_metrics():
    x = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 0.0]])
    pairs = np.array([[0, 1], [0, 2]])
    assert edge_scores(x, pairs, "dot").tolist() == [2.0, 0.0]
    assert edge_scores(x, pairs, "cosine").tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="metric"):
        edge_scores(x, pairs, "euclid")
