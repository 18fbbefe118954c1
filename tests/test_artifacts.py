"""The shared artifact format: round trip, atomicity, damage detection, versioning."""

import json

import numpy as np
import pytest

from graphkit.artifacts import ArtifactWriter, atomic_directory, open_artifact
from graphkit.csr import CSRGraph
from graphkit.errors import ArtifactError, OutputExistsError

FORMAT = "graphkit.test"


def write(path, array=None, version=(1, 0), overwrite=False):
    with atomic_directory(path, overwrite=overwrite) as tmp:
        w = ArtifactWriter(tmp, FORMAT, version, params={"seed": np.int64(3)})
        w.add_array("values", np.arange(1000, dtype=np.int64) if array is None else array)
        w.finish()


def test_round_trip_is_memory_mapped(tmp_path):
    write(tmp_path / "a")
    art = open_artifact(tmp_path / "a", FORMAT, major=1)
    values = art.array("values")
    assert isinstance(values, np.memmap) and values.sum() == 499500
    assert art.params == {"seed": 3}


def test_csr_round_trip(tmp_path):
    g = CSRGraph.from_edges([0, 1, 2], [1, 2, 0], 3, weights=[1.0, 2.0, 3.0], ids=np.array(["a", "b", "c"]))
    with atomic_directory(tmp_path / "g") as tmp:
        w = ArtifactWriter(tmp, FORMAT, (1, 0))
        g.write_arrays(w)
        w.finish()
    back = CSRGraph.read_arrays(open_artifact(tmp_path / "g", FORMAT, 1), directed=True)
    assert back.ids.tolist() == ["a", "b", "c"] and back.weights.tolist() == [1.0, 2.0, 3.0]


def test_failed_write_leaves_nothing_and_keeps_old(tmp_path):
    write(tmp_path / "a")
    with pytest.raises(RuntimeError, match="job died"):
        with atomic_directory(tmp_path / "a", overwrite=True):
            raise RuntimeError("job died")
    assert open_artifact(tmp_path / "a", FORMAT, 1).array("values").sum() == 499500
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]


def test_existing_output_needs_overwrite(tmp_path):
    write(tmp_path / "a")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write(tmp_path / "a")
    write(tmp_path / "a", array=np.ones(3), overwrite=True)
    assert open_artifact(tmp_path / "a", FORMAT, 1).array("values").tolist() == [1, 1, 1]


def test_truncated_corrupted_missing_and_foreign(tmp_path):
    write(tmp_path / "a")
    npy = tmp_path / "a" / "values.npy"
    data = npy.read_bytes()
    npy.write_bytes(data[:-8])
    with pytest.raises(ArtifactError, match="truncated"):
        open_artifact(tmp_path / "a", FORMAT, 1)
    npy.write_bytes(data[:-8] + b"\x01" * 8)
    with pytest.raises(ArtifactError, match="checksum"):
        open_artifact(tmp_path / "a", FORMAT, 1)
    npy.unlink()
    with pytest.raises(ArtifactError, match="missing"):
        open_artifact(tmp_path / "a", FORMAT, 1)
    with pytest.raises(ArtifactError, match="no such artifact"):
        open_artifact(tmp_path / "nope", FORMAT, 1)
    write(tmp_path / "b")
    with pytest.raises(ArtifactError, match="expected a graphkit.other"):
        open_artifact(tmp_path / "b", "graphkit.other", 1)
    (tmp_path / "b" / "manifest.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="corrupted manifest"):
        open_artifact(tmp_path / "b", FORMAT, 1)


def test_newer_major_version_refused_minor_accepted(tmp_path):
    write(tmp_path / "new", version=(2, 0))
    with pytest.raises(ArtifactError, match="newer than this graphkit reads"):
        open_artifact(tmp_path / "new", FORMAT, major=1)
    write(tmp_path / "minor", version=(1, 7))
    assert json.loads((tmp_path / "minor" / "manifest.json").read_text())["format_version"] == [1, 7]
    open_artifact(tmp_path / "minor", FORMAT, major=1)


def test_object_arrays_are_refused(tmp_path):
    with pytest.raises(TypeError, match="object"):
        write(tmp_path / "o", array=np.array([{"a": 1}], dtype=object))


def test_format_1_0_manifests_with_directory_entries_still_load(tmp_path):
    """Before graph fingerprints, a Parquet folder was one 'dir' entry listing its files."""
    with atomic_directory(tmp_path / "old") as tmp:
        w = ArtifactWriter(tmp, FORMAT, (1, 0))
        w.add_array("values", np.arange(4))
        (tmp / "pairs").mkdir()
        (tmp / "pairs" / "part-0.parquet").write_bytes(b"PAR1")
        w.add_file("pairs")
        w.finish()
    manifest = json.loads((tmp_path / "old" / "manifest.json").read_text())
    part = manifest["files"].pop("pairs/part-0.parquet")
    manifest["files"]["pairs"] = {"kind": "dir", "entries": {"pairs/part-0.parquet": {"size": 4, "crc32": part["crc32"]}}}
    for key in ("graph", "seed"):
        del manifest[key]
    (tmp_path / "old" / "manifest.json").write_text(json.dumps(manifest))
    art = open_artifact(tmp_path / "old", FORMAT, 1)
    assert art.graph is None and art.files_under("pairs") == [tmp_path / "old" / "pairs" / "part-0.parquet"]
    manifest["files"]["pairs"]["entries"] = {"../x": {"size": 4, "crc32": 0}}
    (tmp_path / "old" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"file name '../x' leaves the artifact directory"):
        open_artifact(tmp_path / "old", FORMAT, 1)
