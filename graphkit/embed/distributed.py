"""Recursive-partition embedding without collecting the graph (the ``"distributed"`` engine).

The local engine (:mod:`graphkit.embed.spark`) collects the graph to the driver and broadcasts
it to every task. This engine keeps it in Spark; only small things reach the driver:

1. **Coarsening by size-constrained label propagation** (SCLaP, as in Meyerhenke, Sanders and
   Schulz's multilevel partitioner for complex networks): every vertex joins the neighbouring
   cluster it is most strongly tied to, unless that cluster would grow past an eighth of a
   coarse part; the clusters are contracted into a weighted graph and the process repeats until at
   most ``max_coarse_vertices`` clusters remain. Synchronous label propagation oscillates (two
   neighbours swap labels forever), so in each round only a hashed half of the vertices may
   move; and because many vertices move at once, a cluster admits its requests best gain first,
   only up to its free room, so the cap holds exactly. Label propagation keeps densely tied
   vertices together, which is what a low-cut partition needs.
2. **Coarse partition on the driver.** The contracted graph (cluster sizes as vertex weights) is
   recursively bisected, balancing weight (:func:`graphkit.embed.kernels.recursive_partition`),
   into coarse parts of about ``n / 16`` vertices, and the labels are projected back.
3. **Fine partition in tasks.** Each coarse part's induced subgraph is shuffled to one task
   (``groupBy(...).applyInArrow``), which bisects it down to ``max_part_size``.
4. **Shared space.** In every part the ``2 * dim`` vertices with most cut weight (a window
   ranking) form the shared space; only their induced subgraph is collected and embedded.
5. **Parts in parallel, fused in the same task.** Each part's induced subgraph is shuffled to one
   task, embedded, rotated onto the shared space (Procrustes on its shared vertices) and fused
   with the shared-space rows of those vertices. Every vertex is in exactly one part, so fusion
   needs no further shuffle.

Every round is written under the checkpoint directory (:class:`graphkit.sparkio.Scratch`), so
plans stay shallow and a lost executor costs one round. Randomness (which half moves) is a hash
of ``(seed, level, round, vertex)``: the result does not depend on partitioning or retries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pyspark.sql import Window
from pyspark.sql import functions as F

from graphkit.embed import kernels as K

#: coarse parts the driver splits the contracted graph into (a fixed fan-out, not the core
#: count, so a seed gives the same parts on a laptop and on any cluster)
COARSE_PARTS = 16


@dataclass(kw_only=True)
class CoarseningSettings:
    """Tuning of the distributed partitioner.

    Parameters
    ----------
    max_coarse_vertices : int, default 50000
        Coarsen until at most this many clusters remain; the driver partitions that graph.
    rounds : int, default 8
        Label-propagation rounds per level (a level also stops when under 1% of vertices move).
    max_levels : int, default 6
    max_task_vertices : int, default 2000000
        Largest coarse part a single task bisects further (bounds task memory).
    """

    max_coarse_vertices: int = 50_000
    rounds: int = 8
    max_levels: int = 6
    max_task_vertices: int = 2_000_000

    def validate(self) -> "CoarseningSettings":
        for name in ("max_coarse_vertices", "rounds", "max_levels", "max_task_vertices"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        return self


def undirected_edges(graph):
    """``(src, dst, w)`` in both directions with duplicates summed: the symmetric adjacency
    :func:`graphkit.embed.kernels.adjacency` builds (``A + A.T`` for a directed graph; every
    weight 1 when unweighted). Self-loops are kept."""
    both = graph.symmetric_edges()
    if graph.directed:
        both = both.unionByName(both.select(F.col("dst").alias("src"), F.col("src").alias("dst"), "weight"))
    weight = F.col("weight").cast("double") if graph.weighted else F.lit(1.0)
    return both.groupBy("src", "dst").agg(F.sum(weight).alias("w"))


def _label_propagation(edges, labels, cap: int, seed: int, level: int, settings, scratch, say, stage: str):
    """Size-constrained label propagation: ``labels (v, c, vw)`` -> the same with new clusters
    (``level`` salts the hashed coin; ``stage`` names the progress messages)."""
    num = labels.count()
    for rnd in range(settings.rounds):
        sizes = labels.groupBy("c").agg(F.sum("vw").alias("size"))
        toward = (edges.where(F.col("src") != F.col("dst"))
                  .join(labels.select(F.col("v").alias("dst"), F.col("c").alias("nc")), "dst")
                  .groupBy("src", "nc").agg(F.sum("w").alias("tie")))
        mine = labels.select(F.col("v").alias("src"), "c", "vw")
        ties = toward.join(mine, "src")
        own = ties.where(F.col("nc") == F.col("c")).select("src", F.col("tie").alias("own"))
        coin = F.xxhash64(F.lit(seed), F.lit(level), F.lit(rnd), F.col("src")).bitwiseAND(1) == 0
        # only clusters with room for the vertex compete (a full favourite must not block the
        # second best)
        open_ties = (ties.where((F.col("nc") != F.col("c")) & coin)
                     .join(sizes.withColumnRenamed("c", "nc"), "nc")
                     .where(F.col("size") + F.col("vw") <= cap))
        best = (open_ties.groupBy("src", "vw")
                .agg(F.max_by("nc", F.struct("tie", -F.col("nc"))).alias("to"), F.max("tie").alias("tie")))
        wanted = (best.join(own, "src", "left")
                  .withColumn("gain", F.col("tie") - F.coalesce(F.col("own"), F.lit(0.0)))
                  .where(F.col("gain") > 0)
                  .join(sizes.withColumnRenamed("c", "to"), "to"))
        queue = Window.partitionBy("to").orderBy(F.desc("gain"), "src")
        admitted = (wanted.withColumn("queued", F.sum("vw").over(queue))
                    .where(F.col("size") + F.col("queued") <= cap)
                    .select(F.col("src").alias("v"), "to"))
        labels = scratch.freeze(
            labels.join(admitted, "v", "left")
            .select("v", F.coalesce("to", "c").alias("c"), "vw", F.col("to").isNotNull().alias("moved")),
            f"labels-{level}")
        moved = labels.where("moved").count()
        labels = labels.drop("moved")
        say(f"  {stage} round {rnd + 1}: {moved:,} of {num:,} vertices moved")
        if moved < 0.01 * num:
            break
    return labels


def coarsen(edges, num_vertices: int, cap: int, seed: int, settings: CoarseningSettings, scratch, say):
    """Contract the graph until at most ``settings.max_coarse_vertices`` clusters remain.

    Returns ``(assignment (v, c), clusters (c, vw), coarse edges (src, dst, w))``; the clusters
    of the last level, with ``assignment`` mapping every original vertex to one of them.
    """
    spark = edges.sparkSession
    level_edges = edges.where(F.col("src") != F.col("dst"))
    clusters = spark.range(num_vertices).select(F.col("id").alias("c"), F.lit(1).cast("long").alias("vw"))
    assignment = clusters.select(F.col("c").alias("v"), "c")
    count = num_vertices
    for level in range(settings.max_levels):
        if count <= settings.max_coarse_vertices:
            break
        labels = _label_propagation(level_edges, clusters.select(F.col("c").alias("v"), "c", "vw"), cap, seed, level,
                                    settings, scratch, say, f"coarsening level {level + 1}")
        step = labels.select(F.col("v").alias("c"), F.col("c").alias("next"))
        assignment = scratch.freeze(assignment.join(step, "c").select("v", F.col("next").alias("c")), "assign")
        clusters = scratch.freeze(labels.groupBy("c").agg(F.sum("vw").alias("vw")), "clusters")
        ends = labels.select("v", "c")
        level_edges = scratch.freeze(
            level_edges.join(ends.select(F.col("v").alias("src"), F.col("c").alias("a")), "src")
            .join(ends.select(F.col("v").alias("dst"), F.col("c").alias("b")), "dst")
            .where(F.col("a") != F.col("b"))
            .groupBy(F.col("a").alias("src"), F.col("b").alias("dst")).agg(F.sum("w").alias("w")),
            "coarse-edges")
        previous, count = count, clusters.count()
        say(f"coarsening level {level + 1}: {previous:,} -> {count:,} clusters (cap {cap:,} vertices)")
        if count > 0.95 * previous:
            break  # converged: label propagation finds no more ties worth merging
    if count > settings.max_coarse_vertices:
        say(f"coarsening stalled at {count:,} clusters (above max_coarse_vertices); the driver partitions those")
    return assignment, clusters, level_edges


def _induced(ids: np.ndarray, src, dst, w):
    """Sparse adjacency over the sorted vertex ``ids`` from edge columns (duplicates summed)."""
    import scipy.sparse as sp

    rows, cols = np.searchsorted(ids, np.asarray(src, np.int64)), np.searchsorted(ids, np.asarray(dst, np.int64))
    return sp.csr_matrix((np.asarray(w, np.float64), (rows, cols)), shape=(ids.size, ids.size))


def _collect_weighted(clusters, coarse_edges):
    """The contracted graph on the driver: (cluster ids, sizes, symmetric scipy adjacency)."""
    vertices = clusters.orderBy("c").toPandas()
    ids = vertices["c"].to_numpy(np.int64)
    e = coarse_edges.toPandas()
    return ids, vertices["vw"].to_numpy(np.int64), _induced(ids, e["src"], e["dst"], e["w"])


def _labelled(edges, parts):
    """Edges with the parts of both ends: ``(src, dst, w, part, dst_part)``."""
    return (edges.join(parts.select(F.col("v").alias("src"), "part"), "src")
            .join(parts.select(F.col("v").alias("dst"), F.col("part").alias("dst_part")), "dst"))


def _group_rows(edges, parts, column: str):
    """Rows for a per-part task: one ``(part, v, -1, 0)`` row per member and the part's inner
    edges ``(part, src, dst, w)``; ``parts`` is ``(v, <column>)``."""
    inner = (_labelled(edges, parts.select("v", F.col(column).alias("part")))
             .where(F.col("part") == F.col("dst_part")).select("part", "src", "dst", "w"))
    members = parts.select(F.col(column).alias("part"), F.col("v").alias("src"),
                           F.lit(-1).cast("long").alias("dst"), F.lit(0.0).alias("w"))
    return members.unionByName(inner)


def _part_graph(table):
    """``(part, members (sorted global ids), symmetric scipy adjacency over members)`` of one
    group of :func:`_group_rows`."""
    part = int(table.column("part")[0].as_py())
    src = table.column("src").to_numpy()
    dst = table.column("dst").to_numpy()
    member = dst < 0
    members = np.sort(src[member])
    e = ~member
    return part, members, _induced(members, src[e], dst[e], table.column("w").to_numpy()[e])


def distributed_partition(graph, edges, max_part: int, seed: int, settings: CoarseningSettings, scratch, say):
    """Balanced low-cut parts of at most ``max_part`` vertices, computed in Spark.

    With ``L = ceil(log2(n / max_part))`` levels in all, the driver splits the contracted graph
    ``Lc`` levels deep (into ``2^Lc`` coarse parts of about ``n / 16`` vertices, balanced by
    weight to within a cluster), :func:`_rebalance` moves the few vertices that make a coarse
    part heavier than ``2^(L - Lc) * max_part``, and tasks bisect every coarse part ``L - Lc``
    more times by median splits: every part then has at most ``max_part`` vertices, and there
    are at most ``2^L`` parts, as with one-machine recursive bisection. (A label-propagation
    boundary refinement over the coarse parts was tried and dropped: with every part at the
    bound nothing can move, 8 of 317,080 vertices on com-DBLP.)

    Returns ``(parts (v, part) with dense part ids, number of parts, number of clusters the
    driver partitioned)``.
    """
    spark = graph.spark
    n = graph.num_vertices
    levels = max(0, math.ceil(math.log2(n / max_part)))
    if levels == 0:
        return spark.range(n).select(F.col("id").alias("v"), F.lit(0).cast("long").alias("part")), 1, n
    coarse_size = max(max_part, min(math.ceil(n / COARSE_PARTS), settings.max_task_vertices))
    coarse_levels = min(levels, max(0, math.ceil(math.log2(n / coarse_size))))
    bound = max_part << (levels - coarse_levels)
    # clusters of at most an eighth of a coarse part let the driver balance coarse parts closely
    cap = max(1, coarse_size // 8)
    assignment, clusters, coarse_edges = coarsen(edges, n, cap, seed, settings, scratch, say)

    ids, sizes, a = _collect_weighted(clusters, coarse_edges)
    say(f"splitting the contracted graph ({ids.size:,} clusters) into {1 << coarse_levels} coarse parts")
    coarse = K.recursive_partition(a, None, seed, vertex_weights=sizes, depth=coarse_levels)
    mapping = spark.createDataFrame(
        [(int(c), int(p)) for c, p in zip(ids, coarse)], "c long, coarse long")
    coarse_parts = scratch.freeze(assignment.join(F.broadcast(mapping), "c")
                                  .select("v", F.col("coarse").alias("part")), "coarse-parts")
    coarse_parts = _rebalance(edges, coarse_parts, bound, 1 << coarse_levels, seed, scratch, say)

    def bisect_part(table):
        import pyarrow as pa

        part, members, sub = _part_graph(table)
        fine = K.recursive_partition(sub, max_part, seed * 7919 + part)
        return pa.table({"v": members, "coarse": np.full(members.size, part, dtype=np.int64), "fine": fine})

    say(f"bisecting {1 << coarse_levels} coarse parts in parallel tasks")
    fine = scratch.freeze(
        _group_rows(edges, coarse_parts, "part").groupBy("part")
        .applyInArrow(bisect_part, "v long, coarse long, fine long"), "fine-parts")
    pairs = fine.select("coarse", "fine").distinct().orderBy("coarse", "fine").toPandas()
    numbering = spark.createDataFrame(
        [(int(c), int(f), i) for i, (c, f) in enumerate(zip(pairs["coarse"], pairs["fine"]))],
        "coarse long, fine long, part long")
    parts = scratch.freeze(fine.join(F.broadcast(numbering), ["coarse", "fine"]).select("v", "part"), "parts")
    return parts, len(pairs), int(ids.size)


def _rebalance(edges, parts, bound: int, num_parts: int, seed: int, scratch, say, rounds: int = 3):
    """Move vertices out of parts heavier than ``bound`` into parts with room.

    Each round, every overweight part sends its excess: its vertices ranked by the gain of moving
    to their best-tied part with room (tie there minus tie to their own part), and each receiving
    part admits the best arrivals up to its room. Vertices that could not be placed next to a
    neighbour (the few left after ``rounds``) go to the roomiest parts, in a hashed order. Room
    always suffices: ``num_parts * bound >= n``.
    """
    spark = parts.sparkSession
    for rnd in range(rounds + 1):
        sizes = {int(r["part"]): int(r["count"]) for r in parts.groupBy("part").count().collect()}
        excess = {p: s - bound for p, s in sizes.items() if s > bound}
        if not excess:
            return parts
        room = {p: bound - sizes.get(p, 0) for p in range(num_parts) if sizes.get(p, 0) < bound}
        say(f"  rebalancing: {sum(excess.values()):,} vertices over the bound of {bound:,} in {len(excess)} part(s)")
        limits = F.broadcast(spark.createDataFrame(
            [(p, excess.get(p, 0), room.get(p, 0)) for p in range(num_parts)], "part long, excess long, room long"))
        members = parts.join(limits, "part")
        if rnd < rounds:
            over = members.where(F.col("excess") > 0).select(F.col("v").alias("src"), "part", "excess")
            ties = (edges.where(F.col("src") != F.col("dst")).join(over, "src")
                    .join(parts.select(F.col("v").alias("dst"), F.col("part").alias("q")), "dst")
                    .groupBy("src", "part", "excess", "q").agg(F.sum("w").alias("tie")))
            own = ties.where(F.col("q") == F.col("part")).select("src", F.col("tie").alias("own"))
            open_parts = limits.where(F.col("room") > 0).select(F.col("part").alias("q"), "room")
            best = (ties.where(F.col("q") != F.col("part")).join(open_parts, "q")
                    .groupBy("src", "part", "excess")
                    .agg(F.max_by("q", F.struct("tie", -F.col("q"))).alias("q"), F.max("tie").alias("tie"))
                    .join(own, "src", "left")
                    .withColumn("gain", F.col("tie") - F.coalesce(F.col("own"), F.lit(0.0))))
            sent = best.withColumn("k", F.row_number().over(Window.partitionBy("part").orderBy(F.desc("gain"), "src")))
            sent = sent.where(F.col("k") <= F.col("excess")).join(open_parts, "q")
            arrived = sent.withColumn("k", F.row_number().over(Window.partitionBy("q").orderBy(F.desc("gain"), "src")))
            moves = arrived.where(F.col("k") <= F.col("room")).select(F.col("src").alias("v"), "q")
        else:
            order = Window.partitionBy("part").orderBy(F.xxhash64(F.lit(seed), "v"), "v")
            leaving = (members.where(F.col("excess") > 0).withColumn("k", F.row_number().over(order))
                       .where(F.col("k") <= F.col("excess")).select("v").orderBy("v").toPandas()["v"].tolist())
            slots = [p for p, r in sorted(room.items(), key=lambda item: (-item[1], item[0])) for _ in range(r)]
            moves = spark.createDataFrame(list(zip(leaving, slots)), "v long, q long")
        parts = scratch.freeze(parts.join(moves, "v", "left").select("v", F.coalesce("q", "part").alias("part")),
                               "rebalanced")
    return parts


def partition_stats(edges, parts) -> dict:
    """Cut fraction, part sizes and border share of a partition held in Spark (the same keys as
    :func:`graphkit.embed.kernels.partition_quality`)."""
    crossing = F.col("part") != F.col("dst_part")
    cut = _labelled(edges, parts).agg(
        F.sum("w").alias("total"), F.sum(F.when(crossing, F.col("w")).otherwise(0.0)).alias("cut"),
        F.countDistinct(F.when(crossing, F.col("src"))).alias("border")).first()
    size = parts.groupBy("part").count().agg(F.count("*").alias("parts"), F.max("count").alias("max"),
                                              F.min("count").alias("min"), F.sum("count").alias("n")).first()
    total = float(cut["total"] or 0.0)
    return {
        "num_parts": int(size["parts"]),
        "cut_fraction": float(cut["cut"]) / total if total else 0.0,
        "max_part": int(size["max"]),
        "min_part": int(size["min"]),
        "imbalance": float(size["max"]) * size["parts"] / size["n"],
        "border_fraction": int(cut["border"]) / size["n"],
    }


def shared_space(edges, parts, per_part: int, dim: int, seed: int, method: str):
    """The shared vertices (top ``per_part`` by cut weight in every part, as
    :func:`graphkit.embed.kernels.shared_vertices` ranks them) and their embedding, computed on
    the driver from the subgraph they induce. Returns ``(sorted ids, rows)``."""
    weight = (_labelled(edges, parts).groupBy("src", "part")
              .agg(F.sum(F.when(F.col("part") != F.col("dst_part"), F.col("w")).otherwise(0.0)).alias("cut"),
                   F.sum("w").alias("degree")))
    # isolated vertices have no edge rows; they rank last in their part anyway
    rank = Window.partitionBy("part").orderBy(F.desc("cut"), F.desc("degree"), "src")
    shared = weight.withColumn("r", F.row_number().over(rank)).where(F.col("r") <= per_part)
    ids = np.sort(shared.select("src").toPandas()["src"].to_numpy(np.int64))
    chosen = edges.sparkSession.createDataFrame([(int(v),) for v in ids], "v long")
    inner = (edges.join(F.broadcast(chosen.withColumnRenamed("v", "src")), "src")
             .join(F.broadcast(chosen.withColumnRenamed("v", "dst")), "dst").toPandas())
    return ids, K.embed_or_zeros(_induced(ids, inner["src"], inner["dst"], inner["w"]), dim, seed, method)


def embed_parts(spark, edges, parts, shared_ids, shared_rows, dim: int, seed: int, method: str):
    """One task per part: embed, align onto the shared space, fuse with the shared rows.
    Returns a DataFrame ``(id, embedding array<float>)`` in dense ids, L2-normalised rows."""
    shared_b = spark.sparkContext.broadcast((shared_ids, shared_rows))

    def embed_one(table):
        import pyarrow as pa

        part, members, sub = _part_graph(table)
        ids, ref = shared_b.value
        fused = K.embed_aligned_part(sub, members, part, ids, ref, dim, seed, method)
        flat = pa.array(fused.ravel())
        return pa.table({"id": members,
                         "embedding": pa.FixedSizeListArray.from_arrays(flat, dim).cast(pa.list_(pa.float32()))})

    return (_group_rows(edges, parts, "part").groupBy("part")
            .applyInArrow(embed_one, "id long, embedding array<float>"))
