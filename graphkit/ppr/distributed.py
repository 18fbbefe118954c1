"""The distributed walk engine: fully personalized PageRank when the graph does not fit in a task.

The fast path (:mod:`graphkit.ppr.spark`) broadcasts the whole CSR to every task. This engine
never holds more than one bounded block of adjacency in one place: walkers are rows of a
DataFrame and move by joins, as in Lin (WWW 2019), with three devices that make the joins few:

* **Alias tables in blocks (an alias tree for hubs).** A vertex of degree above ``block_size``
  has its out-edges hashed into ``ceil(degree / block_size)`` blocks, each with its own alias
  table, plus a small top table over the blocks' total weights. A step from a hub draws a block
  from the top table (a broadcast join: all top tables together have ``m / block_size``
  entries), then a neighbour from that block: exact weighted sampling in O(1), and no row, task
  or shuffle partition ever holds more than ``block_size`` of a hub's edges.
* **Precomputed segments, stitched in the tail of the walks.** Each vertex of degree at most
  ``small_degree`` gets ``segments_per_vertex`` walk segments of ``segment_length`` exact steps
  (stopping early at a dangling vertex), computed once in ``segment_length`` rounds. Past its
  first ``exact_steps`` steps, a walker at such a vertex picks one segment (by a hash of its key
  and step, so the choice is reproducible) and advances up to ``segment_length`` steps in one
  join: a "big move". A segment is an exact sample of the walk from its vertex, but walkers that
  pick the same one are correlated. Near the source that correlation is ruinous: all of a
  source's walkers pass through its few neighbours, and with segments from the first step
  precision@10 on email-Eu-core fell from 0.79 to 0.50 (1,000 walks). Far from the source a
  source's few surviving walkers are spread out and rarely share a segment, and that long tail
  is exactly what costs rounds: the first ``exact_steps`` steps are exact single steps and the
  tail is stitched, which cuts the rounds from about the longest walk (~75 on email-Eu-core)
  to ``exact_steps`` plus a few.
  A walker at a dangling vertex restarts at its source and moves on from there in the same round.
* **Batches of walkers, pipelined.** Sources are walked in batches so that at most
  ``walkers_in_flight`` walkers (chosen from executor memory when not given) exist at once; two
  batches run concurrently (separate Spark jobs from two driver threads) so one batch's driver
  round trips overlap the other's tasks.

Estimator: visit counting (PowerWalk's MCFP), the same as the local Monte Carlo walker: the score
of ``v`` for source ``u`` is the number of visits to ``v`` (the start counts) divided by all
visits of ``u``'s walks. Dangling vertices restart at the source. Randomness is a hash of
``(seed, source, walk, step)`` evaluated in the JVM (``xxhash64``), so the answer does not depend
on partitioning, executor count or retries.

This engine is plain Monte Carlo (no fingerprint decomposition, whose sparse products need the
graph in one place), so it needs more walks than the fast path for the same precision. Each
round's walkers are written to Parquet under the checkpoint directory and read back
(:class:`graphkit.sparkio.Scratch`), which keeps every round's plan a few operators deep and
survives the loss of an executor.
"""

from __future__ import annotations

import math
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from pyspark import StorageLevel
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from graphkit import _jvm, _progress
from graphkit.base import check_positive_int
from graphkit.ppr import kernels as K
from graphkit.sparkio import Scratch

# Vertex kinds, packed into the two low bits of a vertex reference (``id * 4 + kind``) so a walker
# knows how to leave the vertex it just reached without another lookup.
DANGLING, SEGMENTS, SINGLE_BLOCK, HUB = 0, 1, 2, 3
# Salts keep the hash streams of different decisions independent.
_BLOCK_SALT, _SEGMENT_SALT, _PICK_SALT, _LENGTH_SALT, _TOP_SALT = 11, 13, 17, 19, 23
_TWO53 = 2.0**-53
# Bytes one walker costs while in flight: its row (six longs) in a shuffle and in the cached
# step, plus the visits it records (about 1 / alpha longs), with Spark's row overhead.
_WALKER_BYTES = 256


@dataclass(frozen=True, kw_only=True)
class WalkSettings:
    """Tuning of the distributed engine (see the module docs for what each device does).

    Defaults measured on email-Eu-core, 1,000 walks from every vertex, precision@10 over all
    1,005 sources against exact PPR: the local numpy walker 0.656; this engine 0.650 with
    segments for every vertex after 6 exact steps (16 or 64 segments alike), 0.650 with no
    segments at all, in about half the rounds (23 instead of ~75).
    """

    block_size: int = 4096
    small_degree: int = 1024
    segments_per_vertex: int = 16
    segment_length: int = 8
    exact_steps: int = 6
    walkers_in_flight: int | None = None
    pipeline: int = 2

    def validate(self) -> "WalkSettings":
        for name in ("block_size", "segment_length", "pipeline"):
            check_positive_int(name, getattr(self, name))
        for name in ("small_degree", "segments_per_vertex", "exact_steps"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.walkers_in_flight is not None:
            check_positive_int("walkers_in_flight", self.walkers_in_flight)
        return self


def _signed(key: int) -> int:
    return key - (1 << 64) if key >= 1 << 63 else key


def _uniform(*columns):
    """A uniform in [0, 1) from a hash of ``columns`` (53 bits, evaluated in the JVM)."""
    return F.shiftrightunsigned(F.xxhash64(*columns), 11).cast("double") * _TWO53


def _alias_pick(items, prob, alias, u):
    """Alias-table draw with one uniform: slot ``floor(u * size)``, keep or take its alias."""
    x = u * F.size(items)
    slot = F.floor(x).cast("int")
    keep = (x - slot) < F.get(prob, slot)
    return F.when(keep, F.get(items, slot)).otherwise(F.get(alias, slot))


def _alias_rows(weighted: bool):
    """mapInArrow function: rows ``(v, b, items, weights, *rest)`` ->
    ``(v, b, items, prob, alias, total, *rest)``.

    All rows of an Arrow batch are one CSR for :func:`graphkit.ppr.kernels.alias_table`, so the
    tables of thousands of vertices are built in a few vectorised numpy passes.
    """

    def build(batches):
        import pyarrow as pa

        for batch in batches:
            extra = [name for name in batch.schema.names if name not in ("v", "b", "items", "weights")]
            items, weights = batch.column("items"), batch.column("weights")
            offsets = items.offsets.to_numpy().astype(np.int64)
            indptr = offsets - offsets[0]
            flat = items.values.to_numpy()[offsets[0]:offsets[-1]]
            w = weights.values.to_numpy()[offsets[0]:offsets[-1]].astype(np.float64)
            seg = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
            total = np.bincount(seg, weights=w, minlength=len(indptr) - 1)
            table = K.alias_table(indptr, flat, w) if weighted else None
            prob = table.prob if table is not None else np.ones(flat.shape[0])
            alias = table.alias if table is not None else flat
            list_offsets = pa.array(indptr.astype(np.int32))
            yield pa.RecordBatch.from_arrays(
                [batch.column("v"), batch.column("b"),
                 pa.ListArray.from_arrays(list_offsets, pa.array(flat, pa.int64())),
                 pa.ListArray.from_arrays(list_offsets, pa.array(prob, pa.float64())),
                 pa.ListArray.from_arrays(list_offsets, pa.array(alias, pa.int64())),
                 pa.array(total, pa.float64()), *(batch.column(name) for name in extra)],
                names=["v", "b", "items", "prob", "alias", "total", *extra],
            )

    return build


_ALIAS_SCHEMA = "v long, b long, items array<long>, prob array<double>, alias array<long>, total double"
_NO_MATCH = -1  # join key of walkers that take no table row this round (dangling ones)


def _segment_key(j):
    """Join key of segment ``j`` in ``moves`` (blocks use keys >= 0)."""
    return -2 - j


class WalkTables:
    """The graph as the distributed walker needs it, built once per fit.

    Attributes
    ----------
    vertices : DataFrame ``(v, ref)``
        Every vertex and its packed reference ``v * 4 + kind``.
    tops : DataFrame ``(_v, top_items, top_prob, top_alias)`` or None
        The block-level alias table of every hub (None when there is no hub); broadcast.
    moves : DataFrame ``(_v, _k, items, prob, alias, path)``
        What a walker at vertex ``_v`` reads to move: for a vertex with segments, segment
        ``_k`` (``path``: the packed references it visits, in order); otherwise the alias table of
        block ``_k`` (``items`` and ``alias`` hold packed references).
    """

    def __init__(self, graph, settings: WalkSettings, seed: int, scratch: Scratch, progress=None):
        say = _progress.reporter(progress)
        self.settings = s = settings
        _freeze = scratch.freeze
        self.key = _signed(K.seed_key(seed))
        spark = graph.spark
        self.partitions = spark.sparkContext.defaultParallelism * 2
        edges = graph.symmetric_edges().select(
            F.col("src").alias("v"), F.col("dst").alias("x"), F.col("weight").cast("double").alias("w"))
        degree = edges.groupBy("v").agg(F.count("*").alias("deg"))
        kind = (
            F.when(F.col("deg").isNull(), DANGLING)
            .when((F.col("deg") <= s.small_degree) & (s.segments_per_vertex > 0), SEGMENTS)
            .when(F.col("deg") <= s.block_size, SINGLE_BLOCK)
            .otherwise(HUB)
        )
        vertices = _freeze(
            graph.vertices.select(F.col("id").alias("v")).join(degree, "v", "left")
            .select("v", (F.col("v") * 4 + kind).alias("ref"),
                    F.coalesce(F.ceil(F.col("deg") / s.block_size), F.lit(0)).cast("long").alias("nblocks"))
        )
        self.vertices = vertices.select("v", "ref")
        counts = vertices.groupBy((F.col("ref") % 4).alias("kind")).count().collect()
        self.kind_counts = {int(r["kind"]): int(r["count"]) for r in counts}
        say(f"distributed walker tables: {self.count(HUB):,} hubs (> {s.block_size} edges: alias tree), "
            f"{self.count(SEGMENTS):,} small vertices with segments, {self.count(DANGLING):,} dangling")

        targets = vertices.select(F.col("v").alias("x"), F.col("ref").alias("xref"))
        blocks = _freeze(
            edges.join(targets, "x").join(vertices.select("v", "nblocks", "ref"), "v")
            .withColumn("b", F.when(F.col("nblocks") > 1,
                                    F.pmod(F.xxhash64("x", F.lit(_BLOCK_SALT)), F.col("nblocks"))).otherwise(0))
            .groupBy("v", "ref", "b").agg(F.sort_array(F.collect_list(F.struct("xref", "w"))).alias("adj"))
            .select("v", "b", F.col("adj.xref").alias("items"), F.col("adj.w").alias("weights"),
                    (F.col("ref") % 4).alias("kind"))
            .mapInArrow(_alias_rows(graph.weighted), _ALIAS_SCHEMA + ", kind long")
        )
        self.tops = None
        if self.count(HUB):
            self.tops = F.broadcast(_freeze(
                blocks.filter(F.col("kind") == HUB)
                .groupBy("v").agg(F.sort_array(F.collect_list(F.struct("b", "total"))).alias("adj"))
                .select("v", F.lit(-1).cast("long").alias("b"), F.col("adj.b").alias("items"),
                        F.col("adj.total").alias("weights"))
                .mapInArrow(_alias_rows(True), _ALIAS_SCHEMA)
                .select(F.col("v").alias("_v"), F.col("items").alias("top_items"),
                        F.col("prob").alias("top_prob"), F.col("alias").alias("top_alias"))
            ))
        table = blocks.select(F.col("v").alias("_v"), F.col("b").alias("_k"), "items", "prob", "alias",
                              F.lit(None).cast("array<long>").alias("path"))
        if self.count(SEGMENTS):
            table = table.unionByName(self._build_segments(spark, table, scratch, say))
        # Kept hash-partitioned by the join key in executor memory, so each round shuffles only
        # the walkers (a Parquet scan would lose the partitioning and reshuffle the whole table).
        self.moves = (_freeze(table).repartition(self.partitions, "_v", "_k")
                      .persist(StorageLevel.MEMORY_AND_DISK))

    def count(self, kind: int) -> int:
        return self.kind_counts.get(kind, 0)

    def _block_key(self, frame: DataFrame, kind, *uniform_keys):
        """Join key ``_k`` of a one-step move: block 0, or for a hub a block drawn from its top table."""
        if self.tops is None:
            return frame, F.lit(0).cast("long")
        u_top = _uniform(*uniform_keys, F.lit(_TOP_SALT))
        frame = frame.join(self.tops, "_v", "left")
        return frame, F.when(kind == HUB, _alias_pick("top_items", "top_prob", "top_alias", u_top)).otherwise(0)

    def _build_segments(self, spark, blocks: DataFrame, scratch: Scratch, say) -> DataFrame:
        """``segments_per_vertex`` segments of ``segment_length`` exact steps from each small vertex
        (stopping early at a dangling vertex), as ``moves`` rows."""
        s = self.settings
        say(f"precomputing {s.segments_per_vertex} segments of {s.segment_length} steps for "
            f"{self.count(SEGMENTS):,} small vertices")
        blocks = blocks.select("_v", "_k", "items", "prob", "alias")
        walkers = (
            self.vertices.filter(F.col("ref") % 4 == SEGMENTS)
            .crossJoin(spark.range(s.segments_per_vertex).withColumnRenamed("id", "j"))
            .select("v", "j", F.xxhash64(F.lit(self.key), "v", "j", F.lit(_SEGMENT_SALT)).alias("key"),
                    F.col("ref").alias("cur"), F.array().cast("array<long>").alias("path"))
        )
        for t in range(1, s.segment_length + 1):
            kind = F.col("cur") % 4
            w = walkers.withColumn("_v", F.shiftright("cur", 2))
            w, block = self._block_key(w, kind, "key", F.lit(t))
            w = w.withColumn("_k", F.when(kind == DANGLING, _NO_MATCH).otherwise(block))
            nxt = F.when(kind == DANGLING, F.col("cur")).otherwise(
                _alias_pick("items", "prob", "alias", _uniform("key", F.lit(t))))
            walkers = scratch.freeze(
                w.join(blocks, ["_v", "_k"], "left")
                .select("v", "j", "key", nxt.alias("cur"),
                        F.when(kind == DANGLING, F.col("path")).otherwise(F.concat("path", F.array(nxt))).alias("path")),
                "segments")
        return walkers.select(F.col("v").alias("_v"), _segment_key(F.col("j")).alias("_k"),
                              F.lit(None).cast("array<long>").alias("items"),
                              F.lit(None).cast("array<double>").alias("prob"),
                              F.lit(None).cast("array<long>").alias("alias"), "path")

    def advance(self, walkers: DataFrame) -> DataFrame:
        """One round for walkers ``(src, key, origin, cur, rem, t)`` with ``rem > 0``.

        A walker at a dangling vertex first restarts at its source (one step); then, in the same
        round, it moves from where it is: a whole segment (up to ``segment_length`` steps) from a
        vertex with segments once past the first ``exact_steps`` steps, else one exact step. A
        walker whose source is dangling spends all its remaining steps there. Adds ``visited``
        (the references reached, in order)."""
        s = self.settings
        restart = F.col("cur") % 4 == DANGLING
        w = (walkers.withColumn("_pre", restart.cast("long"))
             .withColumn("_at", F.when(restart, F.col("origin")).otherwise(F.col("cur")))
             .withColumn("_v", F.shiftright("_at", 2))
             .withColumn("_left", F.col("rem") - F.col("_pre"))
             .withColumn("_t", F.col("t") + F.col("_pre")))
        kind = F.col("_at") % 4
        w, block = self._block_key(w, kind, "key", "_t")
        pick = F.pmod(F.xxhash64("key", "_t", F.lit(_PICK_SALT)), F.lit(max(1, s.segments_per_vertex)))
        done, stuck = F.col("_left") <= 0, kind == DANGLING
        big = (kind == SEGMENTS) & (F.col("_t") >= s.exact_steps)
        w = (w.withColumn("_big", big & ~done)
             .withColumn("_k", F.when(done | stuck, _NO_MATCH).when(big, _segment_key(pick)).otherwise(block))
             .join(self.moves, ["_v", "_k"], "left"))
        move = (F.when(done, 0).when(stuck, F.col("_left"))
                .when(F.col("_big"), F.least(F.col("_left"), F.size("path").cast("long"))).otherwise(1))
        w = w.withColumn("_move", move)
        nxt = (F.when(done | stuck, F.col("_at"))
               .when(F.col("_big"), F.get("path", (F.col("_move") - 1).cast("int")))
               .otherwise(_alias_pick("items", "prob", "alias", _uniform("key", "_t"))))
        w = w.withColumn("next", nxt)
        moved = (F.when(done, F.array().cast("array<long>"))
                 .when(stuck, F.array_repeat("next", F.col("_move").cast("int")))
                 .when(F.col("_big"), F.slice("path", 1, F.col("_move").cast("int")))
                 .otherwise(F.array("next")))
        visited = F.when(restart, F.concat(F.array("origin"), moved)).otherwise(moved)
        take = F.col("_pre") + F.col("_move")
        return w.select("src", "key", "origin", F.col("next").alias("cur"), (F.col("rem") - take).alias("rem"),
                        (F.col("t") + take).alias("t"), visited.alias("visited"))


def walkers_in_flight(spark, walks: int, settings: WalkSettings) -> int:
    """Batch size in walkers: given, or a quarter of the executors' memory at ``_WALKER_BYTES`` each."""
    if settings.walkers_in_flight is not None:
        return max(walks, settings.walkers_in_flight)
    sc = spark.sparkContext
    conf = sc.getConf()
    if sc.master.startswith("local"):
        memory = _jvm.byte_size(spark, conf.get("spark.driver.memory", "1g"))
    else:
        memory = _jvm.executor_count(sc) * _jvm.byte_size(spark, conf.get("spark.executor.memory", "1g"))
    return max(walks, int(memory // 4 // _WALKER_BYTES))


def distributed_ppr_topk(graph, *, walks: int, alpha: float, top_k: int, seed: int,
                         settings: WalkSettings, results: Scratch, sources=None, progress=None) -> DataFrame:
    """Monte-Carlo fully PPR of every vertex of ``graph``, top ``top_k`` per source.

    Parameters
    ----------
    graph : graphkit.Graph
    walks : int
        Walks per source.
    alpha : float
        Restart probability.
    top_k : int
    seed : int
    settings : WalkSettings
    results : Scratch
        Where the answer is kept (it lives as long as this scratch space; the walk's own
        intermediate files are deleted before returning).
    sources : array of int, optional
        Dense ids of the sources to walk from (default: every vertex), e.g. for a benchmark.
    progress : callable, None or False, optional
        ``progress(stage, done, total)`` (see :mod:`graphkit._progress`); default log lines.

    Returns
    -------
    DataFrame ``(src, dst, score)`` in dense ids.
    """
    say = _progress.reporter(progress)
    spark = graph.spark
    settings.validate()
    scratch = Scratch(spark, "graphkit-walks")
    tables = None
    try:
        tables = WalkTables(graph, settings, seed, scratch, say)
        n = graph.num_vertices if sources is None else len(sources)
        chosen = None if sources is None else np.asarray(sources, dtype=np.int64)
        batch_sources = max(1, min(n, walkers_in_flight(spark, walks, settings) // walks))
        bounds = list(range(0, n, batch_sources)) + [n]
        batches = list(zip(bounds[:-1], bounds[1:]))
        say(f"walking {walks} walks from each of {n:,} sources in {len(batches)} batch(es) of up to "
            f"{batch_sources * walks:,} walkers")
        done, lock = [0], threading.Lock()

        def run(batch):
            lo, hi = batch
            ids = spark.range(lo, hi) if chosen is None else spark.createDataFrame(
                [(int(v),) for v in chosen[lo:hi]], "id long")
            result = results.freeze(_walk_batch(spark, tables, scratch, ids, walks=walks, alpha=alpha,
                                                top_k=top_k), "topk")
            with lock:
                done[0] += batch[1] - batch[0]
                say("walked sources", done[0], n)
            return result

        with ThreadPoolExecutor(max_workers=settings.pipeline) as pool:
            answers = list(pool.map(run, batches))
        combined = answers[0]
        for frame in answers[1:]:
            combined = combined.unionByName(frame)
        return combined
    finally:
        if tables is not None:
            tables.moves.unpersist()
        scratch.close()


def _walk_batch(spark, tables: WalkTables, scratch: Scratch, ids: DataFrame, *, walks: int, alpha: float,
                top_k: int) -> DataFrame:
    """Walk ``walks`` walks from each source in ``ids`` (column ``id``); the top-k
    of each (a plan over the rounds' files in ``scratch``)."""
    length_u = (F.shiftrightunsigned(F.xxhash64("key", F.lit(_LENGTH_SALT)), 11).cast("double") + 1.0) * _TWO53
    starts = ids.select(F.col("id").alias("src")).join(
        tables.vertices.select(F.col("v").alias("src"), F.col("ref").alias("x")), "src")
    walkers = (
        starts.select("src", F.col("x").alias("origin"))
        .crossJoin(spark.range(walks).withColumnRenamed("id", "walk"))
        .select("src", "origin", F.xxhash64(F.lit(tables.key), "src", "walk").alias("key"))
        .withColumn("rem", F.floor(F.log(length_u) / math.log1p(-alpha)).cast("long"))
        .select("src", "key", "origin", F.col("origin").alias("cur"), "rem", F.lit(0).cast("long").alias("t"))
    )
    state = ["src", "key", "origin", "cur", "rem", "t"]
    steps = []
    label = f"batch-{uuid.uuid4().hex[:8]}"
    while True:
        live = walkers.filter(F.col("rem") > 0)
        if live.isEmpty():
            break
        # Every round's file stays until the batch is counted: its visits are part of the answer.
        moved = scratch.freeze(tables.advance(live), label)
        steps.append(moved)
        walkers = moved.select(*state)
    visits = starts.withColumn("c", F.lit(walks).cast("long"))
    for step in steps:
        visits = visits.unionByName(step.select("src", F.explode("visited").alias("x"), F.lit(1).cast("long").alias("c")))
    counts = visits.groupBy("src", "x").agg(F.sum("c").alias("c"))
    by_src = Window.partitionBy("src")
    return (
        counts.withColumn("score", F.col("c") / F.sum("c").over(by_src))
        .withColumn("dst", F.shiftright("x", 2))
        .withColumn("rank", F.row_number().over(by_src.orderBy(F.desc("c"), F.asc("dst"))))
        .filter(F.col("rank") <= top_k)
        .select("src", "dst", "score")
    )
