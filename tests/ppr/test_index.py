"""PPRIndex: build, query by user ids, save/load round trip, damage detection, graph identity."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from graphkit.base import NotFittedError
from graphkit.csr import CSRGraph
from graphkit.errors import ArtifactError, OutputExistsError, UnknownVertexError
from graphkit.io import load_csr
from graphkit.fingerprint import csr_checksums, csr_fingerprint
from graphkit.ppr import PPRIndex, exact_ppr
from graphkit.ppr.evaluation import precision_at_k, rag_at_k, stratified_sources
from tests.conftest import dataset


@pytest.fixture(scope="module")
def email():
    return load_csr(dataset("email_eu_core", "email-Eu-core.txt"), directed=True)


@pytest.fixture(scope="module")
def email_index(email):
    return PPRIndex.build(email, walks=1000, seed=3)


def tiny_weighted():
    # User ids are strings, so a mix-up of dense and user ids cannot go unnoticed.
    ids = np.array(["a", "b", "c", "d"])
    src, dst = np.array([0, 0, 1, 2, 3]), np.array([1, 2, 0, 0, 0])
    return CSRGraph.from_edges(src, dst, 4, weights=np.array([9.0, 1.0, 1.0, 1.0, 1.0]), ids=ids)


def test_query_accuracy_against_exact(email, email_index):
    sources = stratified_sources(email, 20, seed=5)
    exact = exact_ppr(email.indptr, email.indices, None, sources)
    results = email_index.query(email.ids[sources].tolist(), k=100)
    assert len(results) == len(sources)
    p10, rag = [], []
    for i, result in enumerate(results):
        targets = email.index_of([t for t, _ in result])
        scores = [s for _, s in result]
        assert scores == sorted(scores, reverse=True)
        p10.append(precision_at_k(exact[i], targets, 10))
        rag.append(rag_at_k(exact[i], targets, 100))
    assert np.mean(p10) >= 0.9
    assert np.mean(rag) >= 0.99


def test_query_speaks_user_ids_and_follows_weights():
    g = tiny_weighted()
    index = PPRIndex.build(g, walks=4000, seed=0)
    result = index.query("a", k=4)
    names = [t for t, _ in result]
    assert names[0] == "a" and names[1] == "b"  # weight 9 edge beats weight 1 edge
    exact = exact_ppr(g.indptr, g.indices, g.weights, [0])[0]
    got = dict(result)
    for dense, name in enumerate(g.ids):
        if exact[dense] > 0:
            assert got[name] == pytest.approx(exact[dense], abs=0.02)
    assert index.query(["a", "c"], k=1) == [index.query("a", k=1), index.query("c", k=1)]


def test_unknown_ids_and_bad_k(email_index):
    with pytest.raises(UnknownVertexError, match="999999"):
        email_index.query(999999)
    with pytest.raises(UnknownVertexError):
        email_index.query("not-a-number")
    with pytest.raises(ValueError, match="k must"):
        email_index.query(0, k=0)
    with pytest.raises(ValueError, match="steps"):
        email_index.query(0, steps=-1)


@pytest.mark.parametrize(
    "params, name",
    [({"walks": 0}, "walks"), ({"alpha": 1.0}, "alpha"), ({"alpha": 0}, "alpha"), ({"seed": -3}, "seed"),
     ({"threshold": 1.5}, "threshold"), ({"epsilon": -1e-3}, "epsilon"), ({"steps": 1.5}, "steps")],
)
def test_bad_parameters_rejected_at_fit(params, name):
    with pytest.raises(ValueError, match=name):
        PPRIndex(**params).fit(tiny_weighted())


def test_fit_needs_a_csr_graph_and_queries_need_fit():
    with pytest.raises(TypeError, match="CSRGraph"):
        PPRIndex().fit(np.zeros((3, 3)))
    with pytest.raises(NotFittedError, match="not fitted"):
        PPRIndex().query(1)
    with pytest.raises(NotFittedError):
        PPRIndex().save("never-written")


def test_estimator_contract():
    clone = pytest.importorskip("sklearn.base").clone
    index = PPRIndex(walks=300, seed=4)
    assert index.get_params() == {"walks": 300, "alpha": 0.15, "seed": 4, "threshold": 3e-4, "steps": 2,
                                  "epsilon": 1e-5, "hub_degree": 50}
    assert repr(index) == "PPRIndex(seed=4, walks=300)"
    copy = clone(index)
    assert copy is not index and copy.get_params() == index.get_params()
    assert index.set_params(walks=200) is index and index.walks == 200
    fitted = PPRIndex(walks=200, seed=4).fit(tiny_weighted(), progress=False)
    assert not hasattr(clone(fitted), "fingerprints_")


def test_save_load_round_trip(tmp_path, email, email_index):
    path = email_index.save(tmp_path / "email.ppr")
    loaded = PPRIndex.load(path)
    assert loaded.get_params() == email_index.get_params()
    assert isinstance(loaded.fingerprints_.values, np.memmap)
    for a, b in zip(loaded.fingerprints_, email_index.fingerprints_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.csr_.indices, email.indices)
    assert loaded.csr_.directed is True
    ids = [0, 17, 400]
    assert loaded.query(ids, k=20) == email_index.query(ids, k=20)
    loaded.check_graph(email)


def test_weighted_string_id_round_trip(tmp_path):
    g = tiny_weighted()
    index = PPRIndex.build(g, walks=500, seed=1)
    loaded = PPRIndex.load(index.save(tmp_path / "w"))
    np.testing.assert_array_equal(loaded.csr_.weights, g.weights)
    assert loaded.query("b", k=3) == index.query("b", k=3)


def test_from_fingerprints_equals_fit(email, email_index):
    from graphkit.ppr import fingerprints

    fp = fingerprints(email.indptr, email.indices, None, walks=1000, seed=3)
    index = PPRIndex.from_fingerprints(email, fp, walks=1000, seed=3)
    assert index.query([5, 9], k=10) == email_index.query([5, 9], k=10)
    with pytest.raises(ValueError, match="rows"):
        PPRIndex.from_fingerprints(tiny_weighted(), fp, walks=1000)


def test_save_refuses_existing_path_unless_overwrite(tmp_path, email_index):
    path = email_index.save(tmp_path / "idx")
    with pytest.raises(OutputExistsError):
        email_index.save(path)
    email_index.save(path, overwrite=True)
    PPRIndex.load(path)


def test_truncated_or_corrupted_files_are_refused(tmp_path, email_index):
    path = email_index.save(tmp_path / "idx")
    values = path / "fp_values.npy"
    original = values.read_bytes()
    values.write_bytes(original[:-100])
    with pytest.raises(ArtifactError, match="truncated"):
        PPRIndex.load(path)
    flipped = bytearray(original)
    flipped[-5] ^= 0xFF
    values.write_bytes(bytes(flipped))
    with pytest.raises(ArtifactError, match="checksum"):
        PPRIndex.load(path)
    values.write_bytes(original)
    PPRIndex.load(path)
    (path / "csr_indices.npy").unlink()
    with pytest.raises(ArtifactError, match="missing"):
        PPRIndex.load(path)


def test_newer_major_version_and_other_formats_refused(tmp_path, email_index):
    path = email_index.save(tmp_path / "idx")
    manifest_path = path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = [2, 0]
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="newer"):
        PPRIndex.load(path)
    manifest["format_version"] = [1, 7]  # a newer minor version is readable
    manifest_path.write_text(json.dumps(manifest))
    PPRIndex.load(path)
    manifest["format"] = "graphkit.lsh-index"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="expected a graphkit.ppr-index"):
        PPRIndex.load(path)
    with pytest.raises(ArtifactError):
        PPRIndex.load(tmp_path / "nothing-here")


def test_invalid_parameters_in_manifest_refused(tmp_path, email_index):
    path = email_index.save(tmp_path / "idx")
    manifest_path = path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["params"]["alpha"] = 3.0
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="alpha"):
        PPRIndex.load(path)
    del manifest["params"]["walks"]
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="walks"):
        PPRIndex.load(path)


def test_check_graph_detects_another_graph(email, email_index):
    email_index.check_graph(email)
    other = CSRGraph.from_edges(np.array([0, 1]), np.array([1, 0]), email.num_vertices)
    with pytest.raises(ArtifactError, match="index built for another graph"):
        email_index.check_graph(other)
    # Same counts, one edge moved: another graph.
    indices = email.indices.copy()
    indices[0] = (indices[0] + 1) % email.num_vertices
    moved = CSRGraph(email.indptr, indices, None, email.ids, email.directed)
    with pytest.raises(ArtifactError, match="another graph"):
        email_index.check_graph(moved)
    # Another integer width of the same graph is the same graph.
    wide = CSRGraph(email.indptr, email.indices.astype(np.int64), None, email.ids, email.directed)
    assert csr_fingerprint(wide) == csr_fingerprint(email)
    assert csr_checksums(wide) == csr_checksums(email)  # the manifest's input_fingerprint record


def test_format_1_0_index_loads_and_checks_its_graph(tmp_path, email, email_index):
    """A format-1.0 index records no graph fingerprint: it loads, and check_graph fingerprints
    the graph it stores."""
    path = email_index.save(tmp_path / "old")
    manifest_path = path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = [1, 0]
    for key in ("graph", "seed"):
        del manifest[key]
    manifest_path.write_text(json.dumps(manifest))
    old = PPRIndex.load(path)
    assert old.graph_fingerprint is None and old.input_fingerprint_ == csr_checksums(email)
    old.check_graph(email)
    other = CSRGraph.from_edges(np.array([0, 1]), np.array([1, 0]), email.num_vertices)
    with pytest.raises(ArtifactError, match="index built for another graph"):
        old.check_graph(other)
    assert old.query([0], 5) == email_index.query([0], 5)


def test_local_side_never_imports_pyspark(tmp_path, email_index):
    path = email_index.save(tmp_path / "idx")
    code = (
        "import sys, graphkit.ppr as p; i = p.PPRIndex.load(sys.argv[1]); i.query(0, k=5); "
        "assert 'pyspark' not in sys.modules, 'pyspark imported'"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=120)
