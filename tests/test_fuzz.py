"""Property-based fuzzing (hypothesis) of what users point graphkit at: manifests and arrays,
REPL lines, edge-list files; and a concurrency check of one loaded index.

Bounded for CI by the ``ci`` profile (tests/conftest.py: few examples, no deadline);
``bench/fuzz.py`` runs the same properties much longer (``HYPOTHESIS_PROFILE=long``).
"""

from __future__ import annotations

import io as stdio
import json
import re
import shutil
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from graphkit import io
from graphkit.artifacts import ArtifactWriter, atomic_directory, open_artifact
from graphkit.csr import CSRGraph
from graphkit.errors import ArtifactError, EmptyGraphError, GraphkitError, InputFormatError
from graphkit.lsh import LSHIndex
from graphkit.repl import QueryShell, run_script

FORMAT = "graphkit.fuzz"
SUPPRESS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
_CACHE: dict = {}


def small_graph() -> CSRGraph:
    rng = np.random.default_rng(5)
    src, dst = rng.integers(0, 60, 300), rng.integers(0, 60, 300)
    return io.csr_from_id_edges(src * 7 - 100, dst * 7 - 100, directed=False)


def lsh_dir(tmp_root) -> str:
    """One small LSH index for the whole module (hypothesis reruns the test body many times)."""
    if "lsh" not in _CACHE:
        path = tmp_root / "lsh"
        LSHIndex.from_graph(small_graph(), num_perm=16, keep_graph=True).save(path)
        _CACHE["lsh"] = path
    return _CACHE["lsh"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def fresh_copy(src, root, name="case"):
    target = root / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(src, target)
    return target


def reseal(path, name):
    """Make the manifest agree with a rewritten file's size and CRC (only semantics can catch it)."""
    data = (path / name).read_bytes()
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["files"][name].update(size=len(data), crc32=zlib.crc32(data))
    (path / "manifest.json").write_text(json.dumps(manifest))


# -- manifests and arrays -------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(suppress_health_check=SUPPRESS)
@given(raw=st.binary(max_size=2000))
def test_random_manifest_bytes_are_artifact_errors(root, raw):
    path = fresh_copy(lsh_dir(root), root)
    (path / "manifest.json").write_bytes(raw)
    with pytest.raises(ArtifactError):
        LSHIndex.load(path)


@settings(suppress_health_check=SUPPRESS, max_examples=max(10, settings().max_examples // 3))  # ~0.2 s each
@given(data=st.data())
def test_valid_looking_manifests_load_or_fail_cleanly(root, data):
    """Mutate one field anywhere in a real manifest: the loader answers or raises ArtifactError."""
    path = fresh_copy(lsh_dir(root), root)
    manifest = json.loads((path / "manifest.json").read_text())
    node = manifest
    while isinstance(node, dict) and node and data.draw(st.booleans(), label="descend"):
        key = data.draw(st.sampled_from(sorted(node)), label="key")
        if not isinstance(node[key], dict) or not node[key]:
            break
        node = node[key]
    key = data.draw(st.sampled_from(sorted(node)) | st.text(max_size=10), label="target")
    if data.draw(st.booleans(), label="delete") and key in node:
        del node[key]
    else:
        node[key] = data.draw(json_values, label="value")
    (path / "manifest.json").write_text(json.dumps(manifest))
    try:
        index = LSHIndex.load(path)
    except ArtifactError as exc:
        assert "\n" not in str(exc)
        return
    index.similar(index.ids[0].item(), 3)  # a manifest that loads answers queries


array_names = ["signatures", "ids", "table_keys", "table_offsets", "table_members", "table_directory",
               "deleted", "delta_ids", "delta_signatures", "csr_indptr", "csr_indices", "csr_ids", "graph_rows"]
arrays = hnp.arrays(
    dtype=st.sampled_from([np.int32, np.int64, np.uint32, np.uint64, np.float32, np.float64, np.dtype("<U3")]),
    shape=hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=40),
)


@settings(suppress_health_check=SUPPRESS)
@given(name=st.sampled_from(array_names), array=arrays)
def test_replaced_arrays_with_valid_checksums_load_or_fail_cleanly(root, name, array):
    path = fresh_copy(lsh_dir(root), root)
    np.save(path / f"{name}.npy", array, allow_pickle=False)
    data = (path / f"{name}.npy").read_bytes()
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["files"][f"{name}.npy"] = {"kind": "npy", "size": len(data), "crc32": zlib.crc32(data),
                                         "dtype": array.dtype.str, "shape": list(array.shape)}
    (path / "manifest.json").write_text(json.dumps(manifest))
    try:
        index = LSHIndex.load(path)
    except ArtifactError:
        return
    for vertex in index.ids[:3].tolist():  # if it loads, it answers
        index.similar(vertex, 5)
        index.similar(vertex, 5, exact=True)
        index.adjacent(vertex)


@settings(suppress_health_check=SUPPRESS)
@given(raw=st.binary(max_size=400), keep=st.integers(0, 128))
def test_random_npy_bytes_are_artifact_errors(root, raw, keep):
    """A real header prefix followed by random bytes, with a manifest that agrees on size/CRC."""
    path = root / "npy"
    with atomic_directory(path, overwrite=True) as tmp:
        w = ArtifactWriter(tmp, FORMAT, (1, 0))
        w.add_array("values", np.arange(12, dtype=np.int64))
        w.finish()
    header = (path / "values.npy").read_bytes()[:keep]
    (path / "values.npy").write_bytes(header + raw)
    reseal(path, "values.npy")
    try:
        values = open_artifact(path, FORMAT, 1).array("values")
    except ArtifactError:
        return
    assert values.dtype == np.int64 and values.shape == (12,)


# -- the REPL -------------------------------------------------------------------------------------
words = st.sampled_from(["similar", "community", "ppr", "neighbors", "adjacent", "info", "help", "k=", "size=",
                         "k=3", "size=5", "=", '"', "'", "-1", "0", "9" * 25, "1_0", "١", "\x00", "é"])
lines = st.lists(words | st.text(max_size=6) | st.integers(-(2**70), 2**70).map(str), max_size=6).map(" ".join)


@settings(suppress_health_check=SUPPRESS)
@given(script=st.lists(lines | st.binary(max_size=30).map(lambda b: b.decode("latin-1")), max_size=8))
def test_no_line_ends_the_session(root, script):
    out = stdio.StringIO()
    shell = _CACHE.get("shell")
    if shell is None:
        shell = _CACHE["shell"] = QueryShell(lsh_dir(root), stdout=out)
    shell.stdout = out
    payload = b"\n".join(line.replace("\n", " ").encode("utf-8", "surrogateescape") for line in script)
    payload = payload.replace(b"quit", b"qu1t").replace(b"exit", b"ex1t").replace(b"EOF", b"E0F")
    run_script(shell, stdio.BytesIO(payload + b"\ninfo\n"))  # raises nothing ...
    assert out.getvalue().rstrip().splitlines()[-1].endswith(" ms") or "loaded in" in out.getvalue()  # ... and goes on


# -- edge-list readers ----------------------------------------------------------------------------
@settings(suppress_health_check=SUPPRESS)
@given(raw=st.binary(max_size=300), weighted=st.booleans(), int_ids=st.booleans())
def test_random_edge_file_bytes(root, raw, weighted, int_ids):
    path = root / "edges.txt"
    path.write_bytes(raw)
    try:
        src, dst, w = io.read_edge_list(path, weighted=weighted, int_ids=int_ids)
    except (InputFormatError, EmptyGraphError) as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
        return
    assert src.shape == dst.shape and src.size > 0
    if weighted:
        assert np.isfinite(w).all() and (w > 0).all()


def independent_parse(text: str):
    """Edge list grammar written again without graphkit: comments, blanks, separators."""
    src, dst = [], []
    for line in text.split("\n"):
        line = line.strip()
        if not line or line[0] in "#%":
            continue
        fields = [f for f in re.split(r"[ \t,]+", line) if f]
        src.append(int(fields[0]))
        dst.append(int(fields[1]))
    return src, dst


edge_lines = st.tuples(st.integers(-(2**63), 2**63 - 1), st.integers(-(2**63), 2**63 - 1),
                       st.sampled_from([" ", "\t", ",", " , ", "  \t"]), st.sampled_from(["", " ", "\t"]))


@settings(suppress_health_check=SUPPRESS)
@given(edges=st.lists(edge_lines, min_size=1, max_size=30),
       noise=st.lists(st.sampled_from(["# comment 1 2", "% x", "", "   "]), max_size=5), data=st.data())
def test_random_edge_files_match_an_independent_parse(root, edges, noise, data):
    lines = [f"{lead}{u}{sep}{v}" for u, v, sep, lead in edges]
    for extra in noise:
        lines.insert(data.draw(st.integers(0, len(lines)), label="at"), extra)
    text = "\n".join(lines) + data.draw(st.sampled_from(["", "\n", "\r\n"]), label="end")
    path = root / "valid.txt"
    path.write_text(text)
    src, dst, _ = io.read_edge_list(path)
    want_src, want_dst = independent_parse(text)
    assert src.tolist() == want_src and dst.tolist() == want_dst
    csr = io.csr_from_id_edges(src, dst)
    assert csr.num_edges == len(set(zip(want_src, want_dst)))


# -- concurrency ------------------------------------------------------------------------------------
def test_threads_querying_one_loaded_index_get_the_serial_answers(tmp_path):
    from graphkit.ppr import PPRIndex
    from tests.conftest import dataset

    graph = io.load_csr(dataset("email_eu_core", "email-Eu-core.txt"), directed=False)
    LSHIndex.from_graph(graph, keep_graph=True).save(tmp_path / "lsh")
    PPRIndex.build(graph, walks=300, seed=2).save(tmp_path / "ppr")
    lsh, ppr = LSHIndex.load(tmp_path / "lsh"), PPRIndex.load(tmp_path / "ppr")
    queries = graph.ids[::7].tolist()

    def answer(q):
        return (lsh.similar(q, 10), lsh.similar(q, 10, exact=True), lsh.adjacent(q), ppr.query(q, 10),
                [m for m in lsh.ids[:0]])

    serial = [answer(q) for q in queries]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            assert list(pool.map(answer, queries)) == serial


def test_errors_from_queries_are_graphkit_errors():
    index = LSHIndex.from_graph(small_graph(), num_perm=16)
    for bad in ("1" * 30, "x", 2**64, -(2**64), "١", None):
        with pytest.raises(GraphkitError):
            index.similar(bad, 3)
