"""Hostile input on the query side: crafted manifests and arrays, damaged Parquet artifacts,
artifacts of different graphs, and REPL lines that used to end the session. No Spark."""

from __future__ import annotations

import io as stdio
import json
import os
import zlib

import numpy as np
import pytest

from graphkit import io
from graphkit.artifacts import ArtifactWriter, atomic_directory, check_same_graph, open_artifact, seal_directory
from graphkit.csr import CSRGraph, IdMap, parse_int_id
from graphkit.embed import load_embeddings, open_embeddings, save_embeddings
from graphkit.errors import ArtifactError, UnknownVertexError
from graphkit.fingerprint import csr_fingerprint
from graphkit.lsh import LSHIndex
from graphkit.ppr import PPRIndex, load_topk
from graphkit.ppr.topk import FORMAT as TOPK_FORMAT
from graphkit.repl import MAX_K, QueryShell, run_script
from tests.conftest import dataset

FORMAT = "graphkit.test"


@pytest.fixture(scope="module")
def email():
    return io.load_csr(dataset("email_eu_core", "email-Eu-core.txt"), directed=False)


@pytest.fixture(scope="module")
def artifacts(email, tmp_path_factory):
    """LSH index, PPR index and embeddings of email-Eu-core, plus an LSH index of another graph."""
    root = tmp_path_factory.mktemp("hostile")
    LSHIndex.from_graph(email, keep_graph=True).save(root / "lsh")
    PPRIndex.build(email, walks=300, seed=1).save(root / "ppr")
    rng = np.random.default_rng(0)
    save_embeddings(email.ids, rng.standard_normal((email.num_vertices, 8)), root / "emb",
                    graph=csr_fingerprint(email))
    other = CSRGraph.from_edges(np.arange(50), (np.arange(50) + 1) % 50, 50, directed=False)
    LSHIndex.from_graph(other).save(root / "other-lsh")
    PPRIndex.build(other, walks=100).save(root / "other-ppr")
    return root


def write(path, array=None):
    with atomic_directory(path, overwrite=True) as tmp:
        w = ArtifactWriter(tmp, FORMAT, (1, 0), params={"a": 1})
        w.add_array("values", np.arange(10, dtype=np.int64) if array is None else array)
        w.finish()
    return path


def edit_manifest(path, change):
    manifest = json.loads((path / "manifest.json").read_text())
    change(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))


def rewrite_array(path, name, array):
    """Replace an array *and* its manifest entry, so checksums are valid and only semantics are wrong."""
    np.save(path / f"{name}.npy", array, allow_pickle=False)
    data = (path / f"{name}.npy").read_bytes()

    def change(m):
        m["files"][f"{name}.npy"].update(size=len(data), crc32=zlib.crc32(data), dtype=array.dtype.str,
                                         shape=list(array.shape))
    edit_manifest(path, change)


# -- the manifest schema ----------------------------------------------------------------------
@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(format_version="1"), r"'format_version' must be a pair of non-negative integers, got '1'"),
    (lambda m: m.update(format_version=[1]), r"'format_version' must be a pair"),
    (lambda m: m.update(format_version=[True, 0]), r"'format_version' must be a pair"),
    (lambda m: m.pop("format_version"), r"manifest lacks 'format_version'"),
    (lambda m: m.update(format=7), r"manifest lacks a 'format' string"),
    (lambda m: m.update(files=[]), r"manifest lacks a 'files' object"),
    (lambda m: m["files"].update({"values.npy": ["npy"]}), r"entry of 'values.npy' must be an object"),
    (lambda m: m["files"]["values.npy"].update(size="80"), r"entry of 'values.npy' has size '80'"),
    (lambda m: m["files"]["values.npy"].pop("crc32"), r"entry of 'values.npy' has crc32 None"),
    (lambda m: m["files"]["values.npy"].update(kind="dir"), r"has kind 'dir' \(expected 'npy' or 'file'\)"),
    (lambda m: m["files"].update({"../secret": {"kind": "file", "size": 1, "crc32": 0}}),
     r"file name '../secret' leaves the artifact directory"),
    (lambda m: m["files"].update({"/etc/passwd": {"kind": "file", "size": 1, "crc32": 0}}),
     r"file name '/etc/passwd' leaves the artifact directory"),
    (lambda m: m["files"].update({"a/./b": {"kind": "file", "size": 1, "crc32": 0}}), r"not a plain relative path"),
    (lambda m: m.update(seed="1"), r"'seed' must be an integer or null"),
    (lambda m: m.update(graph={"num_vertices": 3}), r"'graph' lacks a 'fingerprint' string"),
    (lambda m: m.update(params=[1]), r"'params' must be an object"),
    (lambda m: m["files"]["values.npy"].update(dtype="<i4"), r"npy header says <i8\(10,\), manifest says <i4\(10,\)"),
    (lambda m: m["files"]["values.npy"].update(shape=[5, 2]), r"npy header says <i8\(10,\), manifest says <i8\(5, 2\)"),
])
def test_malformed_manifests_are_one_line_errors(tmp_path, change, message):
    path = write(tmp_path / "a")
    edit_manifest(path, change)
    with pytest.raises(ArtifactError, match=message) as info:
        open_artifact(path, FORMAT, 1)
    assert "\n" not in str(info.value)


def test_manifest_that_is_not_an_object_nan_huge_or_deep(tmp_path):
    path = write(tmp_path / "a")
    for text, message in [("[1, 2]", "manifest must be a JSON object, got list"),
                          ('{"format": NaN}', r"corrupted manifest \(non-finite number NaN\)"),
                          ("[" * 100_000 + "]" * 100_000, "corrupted manifest"),
                          (b"\xff\xfe{}", "corrupted manifest")]:
        (path / "manifest.json").write_bytes(text if isinstance(text, bytes) else text.encode())
        with pytest.raises(ArtifactError, match=message):
            open_artifact(path, FORMAT, 1)
    with open(path / "manifest.json", "wb") as fh:
        fh.truncate(17 << 20)  # sparse: 17 MiB of zeros
    with pytest.raises(ArtifactError, match=r"manifest is 17,825,792 bytes \(at most 16,777,216 are read\)"):
        open_artifact(path, FORMAT, 1)


def test_symlinks_out_fifos_and_extra_bytes_are_refused(tmp_path):
    outside = tmp_path / "outside.npy"
    np.save(outside, np.arange(10, dtype=np.int64))
    path = write(tmp_path / "a")
    (path / "values.npy").unlink()
    (path / "values.npy").symlink_to(outside)
    with pytest.raises(ArtifactError, match="values.npy: symlink leads out of the artifact directory"):
        open_artifact(path, FORMAT, 1)
    (path / "values.npy").unlink()
    os.mkfifo(path / "values.npy")
    with pytest.raises(ArtifactError, match="values.npy: not a regular file"):
        open_artifact(path, FORMAT, 1)
    path = write(tmp_path / "b")
    (path / "manifest.json").rename(tmp_path / "m.json")
    (path / "manifest.json").symlink_to("/dev/zero")
    with pytest.raises(ArtifactError, match="manifest is not a regular file"):
        open_artifact(path, FORMAT, 1)
    # npy with trailing bytes and a manifest that agrees on the size: the header gives it away
    path = write(tmp_path / "c")
    with open(path / "values.npy", "ab") as fh:
        fh.write(b"\0" * 8)
    data = (path / "values.npy").read_bytes()
    edit_manifest(path, lambda m: m["files"]["values.npy"].update(size=len(data), crc32=zlib.crc32(data)))
    with pytest.raises(ArtifactError, match=r"npy data takes 208 bytes with its header, file has 216"):
        open_artifact(path, FORMAT, 1)


# -- semantic checks with valid checksums ------------------------------------------------------
@pytest.mark.parametrize("name, make, message", [
    ("table_keys", lambda a: a[::-1].copy(), r"inconsistent band table arrays \(band keys are not strictly increasing\)"),
    ("table_offsets", lambda a: np.concatenate([a[:1], a[2:3], a[1:2], a[3:]]),
     r"band offsets are not non-decreasing"),
    ("table_members", lambda a: a + 5000, r"inconsistent LSH index \(band table members hold values in \[5000, "),
    ("ids", lambda a: np.where(a == 7, 8, a), r"inconsistent LSH index \(ids repeat the value 8\)"),
    ("csr_indices", lambda a: -a - 1, r"inconsistent CSR arrays \(csr indices hold values in \[-1005, -1\]"),
    ("csr_indptr", lambda a: a[::-1].copy(), r"csr indptr are not non-decreasing"),
    ("deleted", lambda a: np.array([10**6]), r"tombstones hold values in \[1000000, 1000000\], outside \[0, 1005\)"),
])
def test_lsh_index_semantics_are_checked_at_load(tmp_path, artifacts, name, make, message):
    import shutil

    path = tmp_path / "lsh"
    shutil.copytree(artifacts / "lsh", path)
    rewrite_array(path, name, make(np.load(path / f"{name}.npy")))
    with pytest.raises(ArtifactError, match=message):
        LSHIndex.load(path)


def test_full_verification_rebuilds_the_band_tables(tmp_path, artifacts):
    import shutil

    path = tmp_path / "lsh"
    shutil.copytree(artifacts / "lsh", path)
    assert LSHIndex.load(path, verify="full").similar(5, 3) == LSHIndex.load(artifacts / "lsh").similar(5, 3)
    members = np.load(path / "table_members.npy")
    rewrite_array(path, "table_members", members[::-1].copy())  # in range, wrong buckets
    LSHIndex.load(path)  # cheap checks cannot see it ...
    with pytest.raises(ArtifactError, match="band table members differ from the ones rebuilt from the signatures"):
        LSHIndex.load(path, verify="full")  # ... the full ones do
    with pytest.raises(ValueError, match="verify must be False, True or 'full', got 'yes'"):
        LSHIndex.load(path, verify="yes")


def test_ppr_index_semantics_and_full_fingerprint(tmp_path, artifacts):
    import shutil

    path = tmp_path / "ppr"
    shutil.copytree(artifacts / "ppr", path)
    values = np.load(path / "fp_values.npy")
    values[3] = np.nan
    rewrite_array(path, "fp_values", values)
    with pytest.raises(ArtifactError, match=r"inconsistent fingerprint arrays \(fingerprint values hold NaN"):
        PPRIndex.load(path)
    shutil.rmtree(path)
    shutil.copytree(artifacts / "ppr", path)
    ids = np.load(path / "csr_ids.npy")
    rewrite_array(path, "csr_ids", ids[[1, 0, *range(2, ids.shape[0])]])  # vertices 0 and 1 renamed
    PPRIndex.load(path)  # consistent arrays, valid checksums ...
    with pytest.raises(ArtifactError, match="the stored graph's fingerprint differs from the manifest's"):
        PPRIndex.load(path, verify="full")  # ... but not the graph the manifest names


# -- Parquet artifacts ---------------------------------------------------------------------------
def test_embeddings_damage_nan_and_bare_parquet(tmp_path, artifacts, email):
    import shutil

    ids, x = load_embeddings(artifacts / "emb")
    assert x.shape == (1005, 8) and open_embeddings(artifacts / "emb").graph_fingerprint == csr_fingerprint(email)
    path = tmp_path / "emb"
    shutil.copytree(artifacts / "emb", path)
    part = path / "part-00000.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="part-00000.parquet: checksum mismatch"):
        load_embeddings(path)
    part.unlink()
    with pytest.raises(ArtifactError, match="part-00000.parquet: file listed in the manifest is missing"):
        load_embeddings(path)
    import pandas as pd

    assert len(pd.read_parquet(artifacts / "emb")) == 1005  # the manifest does not hide the data set
    (path / "_manifest.json").unlink()
    shutil.copy(artifacts / "emb" / "part-00000.parquet", part)
    with pytest.raises(ArtifactError, match=r"not a graphkit artifact \(no manifest.json\); pass unverified=True"):
        load_embeddings(path)
    assert load_embeddings(path, unverified=True)[1].shape == (1005, 8)
    bad = x.copy()
    bad[4, 2] = np.inf
    save_embeddings(ids, bad, tmp_path / "inf")
    with pytest.raises(ArtifactError, match=r"inconsistent embeddings \(embedding values hold NaN or infinite values\)"):
        load_embeddings(tmp_path / "inf")


def test_fully_ppr_results_are_checked(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    def results(name, src, dst, score, top_k=2):
        with atomic_directory(tmp_path / name) as tmp:
            pq.write_table(pa.table({"src": src, "dst": dst, "score": score}), tmp / "part-00000.parquet")
            pq.write_table(pa.table({"src": [9], "dst": [9], "score": [1.0]}), tmp / "part-00001.parquet")
            seal_directory(tmp, TOPK_FORMAT, (1, 0), {"top_k": top_k}, seed=0)
        return tmp_path / name

    got = load_topk(results("ok", [1, 1, 2], [1, 2, 2], [0.3, 0.6, 1.0]))
    assert got.src.tolist() == [1, 1, 2, 9] and got.dst.tolist() == [2, 1, 2, 9] and got.params == {"top_k": 2}
    with pytest.raises(ArtifactError, match=r"scores hold NaN or infinite values"):
        load_topk(results("nan", [1], [2], [float("nan")]))
    with pytest.raises(ArtifactError, match=r"a source has 3 rows, top_k is 2"):
        load_topk(results("many", [1, 1, 1], [1, 2, 3], [0.1, 0.2, 0.3]))
    (tmp_path / "ok" / "part-00001.parquet").unlink()
    with pytest.raises(ArtifactError, match="part-00001.parquet: file listed in the manifest is missing"):
        load_topk(tmp_path / "ok")


# -- artifacts of one graph ------------------------------------------------------------------------
def test_artifacts_of_different_graphs_are_refused_unless_allowed(artifacts):
    shell = QueryShell(artifacts / "lsh", artifacts / "ppr", artifacts / "emb", stdout=stdio.StringIO())
    assert shell.notes == []
    with pytest.raises(ArtifactError, match=r"LSH index .*/lsh and PPR index .*/other-ppr were built from different "
                                            r"graphs \(graphkit-graph-1:\w+, 1005 vertices, 16706 edges vs "
                                            r"graphkit-graph-1:\w+, 50 vertices, 50 edges\); pass --allow-mixed-graphs"):
        QueryShell(artifacts / "lsh", artifacts / "other-ppr", stdout=stdio.StringIO())
    mixed = QueryShell(artifacts / "other-lsh", artifacts / "ppr", allow_mixed_graphs=True, stdout=stdio.StringIO())
    assert len(mixed.notes) == 1 and mixed.notes[0].startswith("warning: LSH index")
    from graphkit.repl import open_artifacts

    with pytest.raises(ArtifactError, match="were built from different graphs"):
        open_artifacts(artifacts / "other-lsh", embeddings=artifacts / "emb")
    both = open_artifacts(artifacts / "lsh", embeddings=artifacts / "emb")
    assert (len(both.embeddings), both.embeddings.dim) == (1005, 8) and both.notes == []
    with pytest.warns(UserWarning, match="were built from different graphs"):
        check_same_graph({"a": {"fingerprint": "x"}, "b": {"fingerprint": "y"}}, allow_mixed=True)
    assert check_same_graph({"a": {"fingerprint": "x"}, "b": None}) == [
        "b: no graph fingerprint recorded, cannot check it belongs to the same graph"]


# -- one id parser ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [("5", 5), (" -12 ", -12), ("+7", 7), (np.int32(3), 3),
                                            ("9223372036854775807", 2**63 - 1), ("-9223372036854775808", -2**63)])
def test_parse_int_id_accepts(text, expected):
    assert parse_int_id(text) == expected


@pytest.mark.parametrize("text", ["9223372036854775808", "1" * 5000, "1_000", "0x10", "١٢", "²", "5.0", "", "-",
                                  "1e3", " ", True, 2**64, "5\x00"])
def test_parse_int_id_refuses_with_unknown_vertex(text):
    with pytest.raises(UnknownVertexError, match="unknown vertex id"):
        parse_int_id(text)
    with pytest.raises(UnknownVertexError, match="unknown vertex id"):
        IdMap(np.arange(10)).index_of([text])


# -- the REPL cannot be killed by a line ------------------------------------------------------------
def session(artifacts, script: bytes, **kwargs) -> str:
    out = stdio.StringIO()
    shell = QueryShell(artifacts / "lsh", artifacts / "ppr", artifacts / "emb", stdout=out, **kwargs)
    run_script(shell, stdio.BytesIO(script))
    return out.getvalue()


@pytest.mark.parametrize("line, message", [
    ("similar 99999999999999999999999", "error: unknown vertex id '99999999999999999999999' (ids are 64-bit integers)"),
    ("similar 18446744073709551615", "error: unknown vertex id '18446744073709551615' (ids are 64-bit integers)"),
    ("similar ١٢", "error: unknown vertex id '١٢' (ids are integers)"),
    ("ppr 1 ²", "error: unknown vertex id '²' (ids are integers)"),
    ("community 1 size=99999999999", "error: size must be at most 1,005, got 99,999,999,999"),
    ("community 1 size=100000000000000000000000000", "error: size must be a positive integer, got '100000000000000000000000000'"),
    (f"similar 1 {MAX_K + 1}", "error: K must be at most 10,000, got 10,001"),
    ("ppr 1 k=0", "error: K must be a positive integer, got 0"),
    ("neighbors 1 k=-3", "error: K must be a positive integer, got '-3'"),
    ("similar 1 bogus=2", "error: unknown option 'bogus'; usage: similar ID [K]"),
    ("adjacent 1 k=2", "error: unknown option 'k'; usage: adjacent ID"),
    ("info now", "error: too many arguments; usage: info"),
    ("ppr 1 k=3 k=4", "error: option 'k' given twice; usage: ppr ID [ID ...] [k=K]"),
    ("similar 1 2 k=3", "error: K given twice; usage: similar ID [K]"),
    ("community size=", "error: option 'size' needs a value; usage: community ID [ID ...] [size=N]"),
    ('similar "1', "error: No closing quotation; usage: similar ID [K]"),
    ("community", "error: give at least one vertex id"),
    ("similar 1 2 3", "error: too many arguments; usage: similar ID [K]"),
])
def test_bad_lines_print_one_error_and_the_session_goes_on(artifacts, line, message):
    out = session(artifacts, f"{line}\nsimilar 5 2\n".encode())
    assert message in out.splitlines()
    assert out.count("jaccard~") == 2  # the next command still answered


def test_non_utf8_nul_and_overlong_lines(artifacts):
    out = session(artifacts, b"similar \xff\xfe\nsimilar 5\x00\n" + b"similar " + b"1" * 20_000 + b"\nsimilar 5 1\n")
    lines = out.splitlines()
    assert "error: the line is not valid UTF-8" in lines
    assert "error: unknown vertex id '5\\x00' (ids are integers)" in lines
    assert "error: line of 20,008 characters (at most 10,000)" in lines
    assert out.count("jaccard~") == 1


def test_unexpected_exceptions_do_not_end_the_session(artifacts, monkeypatch):
    def broken(*args, **kwargs):
        raise IndexError("index 7 is out of bounds")

    out = stdio.StringIO()
    shell = QueryShell(artifacts / "lsh", stdout=out)
    monkeypatch.setattr(shell.index, "similar", broken)
    run_script(shell, stdio.BytesIO(b"similar 5\nadjacent 5\n"))
    assert "error: IndexError: index 7 is out of bounds" in out.getvalue().splitlines()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(shell.index, "similar", interrupted)
    run_script(shell, stdio.BytesIO(b"similar 5\nadjacent 5\n"))
    assert "error: interrupted" in out.getvalue().splitlines()
    assert out.getvalue().count("neighbours:") == 2


def test_community_size_beyond_the_index_allocates_nothing_huge(artifacts):
    import tracemalloc

    from graphkit.lsh.community import community

    index = LSHIndex.load(artifacts / "lsh")
    small = community(index, [0, 1], 30).members
    tracemalloc.start()
    try:
        big = community(index, [0, 1], 10**11)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 << 20 and len(big.members) <= len(index) and big.members[:2] == small[:2]


def test_npy_header_that_breaks_numpys_tokenizer_is_an_artifact_error(tmp_path):
    # found by tests/test_fuzz.py: numpy raised tokenize.TokenError, which escaped the loader
    path = write(tmp_path / "a")
    header = (path / "values.npy").read_bytes()[:102]
    (path / "values.npy").write_bytes(header + b"\x00" * 25 + b"{")
    data = (path / "values.npy").read_bytes()
    edit_manifest(path, lambda m: m["files"]["values.npy"].update(size=len(data), crc32=zlib.crc32(data)))
    with pytest.raises(ArtifactError, match=r"values.npy: unreadable npy header \(TokenError: "):
        open_artifact(path, FORMAT, 1)
