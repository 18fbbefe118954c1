"""graphkit.sparkio: atomic Parquet outputs, vertex batches in tasks, scratch that cleans up."""

from __future__ import annotations

import json

import numpy as np
import pytest

from graphkit.errors import OutputExistsError
from graphkit.sparkio import Scratch, check_output, local_path, map_vertex_batches, write_parquet


def test_local_path():
    assert local_path("/a/b") == "/a/b"
    assert local_path("rel/b") == "rel/b"
    assert local_path("file:///a/b") == "/a/b"
    assert local_path("file:/a/b") == "/a/b"
    assert local_path("hdfs://nn/a") is None and local_path("s3a://bucket/a") is None


pytestmark = pytest.mark.spark


def test_write_parquet_is_atomic_and_sealed(spark, tmp_path):
    out = str(tmp_path / "out")
    frame = spark.range(10).withColumnRenamed("id", "x")
    write_parquet(frame, out, artifact={"format": "graphkit-test", "version": (1, 0), "params": {"k": 1}})
    assert sorted(r.x for r in spark.read.parquet(out).collect()) == list(range(10))
    manifest = json.loads((tmp_path / "out" / "_manifest.json").read_text())
    assert manifest["format"] == "graphkit-test"
    with pytest.raises(OutputExistsError):
        check_output(spark, out, overwrite=False)
    with pytest.raises(OutputExistsError):
        write_parquet(frame, out)
    write_parquet(spark.range(3).withColumnRenamed("id", "x"), out, overwrite=True)
    assert spark.read.parquet(out).count() == 3
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary directory left


def test_a_failed_write_leaves_nothing_behind(spark, tmp_path):
    from pyspark.sql import functions as F

    @F.udf("long")
    def explode(x):
        raise RuntimeError("planted failure")

    out = str(tmp_path / "out")
    with pytest.raises(Exception, match="planted failure"):
        write_parquet(spark.range(4).select(explode("id").alias("x")), out)
    assert list(tmp_path.iterdir()) == []


def test_map_vertex_batches_covers_every_vertex_once(spark):
    import pyarrow as pa

    def kernel(sources):
        yield pa.RecordBatch.from_arrays([pa.array(sources), pa.array(sources * 2)], names=["v", "twice"])

    rows = map_vertex_batches(spark, 1000, kernel, "v long, twice long", num_batches=7).toPandas()
    assert sorted(rows.v) == list(range(1000)) and (rows.twice == 2 * rows.v).all()
    chosen = np.array([5, 17, 999, 3])
    rows = map_vertex_batches(spark, 1000, kernel, "v long, twice long", vertices=chosen).toPandas()
    assert sorted(rows.v) == sorted(chosen.tolist())


def test_scratch_cuts_lineage_and_cleans_up(spark, tmp_path):
    scratch = Scratch(spark, "test")
    assert scratch.path is not None  # the tests' session has a checkpoint directory
    frozen = scratch.freeze(spark.range(5).selectExpr("id * 3 as x"))
    assert sorted(r.x for r in frozen.collect()) == [0, 3, 6, 9, 12]
    files = frozen.inputFiles()  # read back from the scratch files, not recomputed
    assert files and all(scratch.path.removeprefix("file:") in f for f in files)
    scratch.close()
    from graphkit import _jvm

    assert not _jvm.path_exists(spark, scratch.path)
