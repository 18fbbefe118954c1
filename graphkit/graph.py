"""The graph model shared by every Spark job: :class:`Graph`.

A ``Graph`` holds two DataFrames with fixed column names:

* ``vertices``: ``id`` (dense long, ``0..n-1``) and ``name`` (the user's id, int64 or string),
* ``edges``: ``src``, ``dst`` (dense longs) and ``weight`` (double, 1.0 when unweighted).

User ids of any type are mapped once to dense longs, in sorted order (the same order that the
single-machine reader :func:`graphkit.io.csr_from_id_edges` uses), and every output is translated
back, so results always speak the user's ids.

Edge policy (documented, tested):

* **Duplicates** are merged into one edge; weights of merged edges are summed (parallel edges
  add their transition mass), unweighted duplicates collapse to one edge.
* **Undirected** graphs store each edge once with ``src <= dst``; ``(u, v)`` and ``(v, u)`` in the
  input are the same edge (SNAP files that list both directions read correctly).
* **Self-loops** are kept by default (``self_loops="drop"`` removes them).
* **Weights** must be finite and > 0.

Structural constructors return a new ``Graph``; analytics return DataFrames with documented
columns. Methods that run Spark actions say so.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import numpy as np

from graphkit import _jvm
from graphkit.csr import CSRGraph
from graphkit.errors import EmptyGraphError, GraphkitError, InputFormatError
from graphkit.reader import SELF_LOOP_POLICIES, ReadOptions, read_edges
from graphkit.schema import COMPONENT, DST, ID, NAME, SRC, WEIGHT


#: collecting a graph to one machine beyond this many stored edges is refused
MAX_COLLECT_EDGES = 300_000_000
#: label-propagation rounds tried before the two-phase algorithm: each round moves a label one
#: hop, and the diameters of social and web graphs are far below this (SNAP: com-DBLP 21)
GRAPHX_COMPONENT_ROUNDS = 50
#: above this many stored edges components go straight to the two-phase algorithm: GraphX's
#: lead (medians of 3: 3.2x on email-Eu-core, 1.8x on com-DBLP; 1.8x on R-MAT 2^18) was gone at R-MAT 2^20
#: (16M edges: 52 s against 49 s, one run; README, design notes)
GRAPHX_COMPONENT_MAX_EDGES = 8_000_000


class Graph:
    """A directed or undirected, optionally weighted graph on Spark.

    Build one with :meth:`read`, :meth:`from_edges`, :meth:`from_dataframes`,
    :meth:`from_graphframe` or :meth:`from_csr`; the constructor itself is internal.

    Examples
    --------
    >>> from graphkit import Graph, get_session
    >>> spark = get_session()                                         # doctest: +SKIP
    >>> g = Graph.read("email-Eu-core.txt", spark=spark)              # doctest: +SKIP
    >>> g.num_vertices, g.num_edges                                   # doctest: +SKIP
    (1005, 25571)
    """

    def __init__(self, vertices, edges, *, directed: bool, weighted: bool):
        missing_v = {ID, NAME} - set(vertices.columns)
        missing_e = {SRC, DST, WEIGHT} - set(edges.columns)
        if missing_v or missing_e:
            raise InputFormatError(
                f"Graph needs vertices({ID}, {NAME}) and edges({SRC}, {DST}, {WEIGHT}); "
                f"found vertices{tuple(vertices.columns)} edges{tuple(edges.columns)}"
            )
        self.vertices = vertices
        self.edges = edges
        self.directed = directed
        self.weighted = weighted
        self._fingerprint = None

    @property
    def spark(self):
        return self.edges.sparkSession

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def read(cls, path: str | os.PathLike, *, spark=None, options: ReadOptions | None = None, **kwargs) -> "Graph":
        """Read a graph file (edge list text/CSV/TSV, optionally gzip; Parquet; MATLAB ``.mat``).

        Parameters
        ----------
        path : str or Path
            A file, or a directory of Parquet / text parts.
        spark : SparkSession, optional
            Defaults to :func:`graphkit.get_session`.
        options : ReadOptions, optional
            Or pass its fields as keyword arguments: ``format``, ``directed``, ``weight_col``
            (text: a 1-based column number, or a header name with ``header=True``; Parquet: a
            column name), ``int_ids``, ``header``, ``self_loops``.

        Raises
        ------
        InputFormatError
            Missing file, unknown format, malformed line (names file and line), non-integer id
            where integers are declared, NaN / infinite / non-positive weight.
        EmptyGraphError
            No edges.

        Notes
        -----
        Runs Spark actions (validation and the id mapping).
        """
        options = (options or ReadOptions(**kwargs)).validate()
        path = str(path)
        if "://" not in path and not Path(path).exists():
            raise InputFormatError(f"{path}: no such file")
        if spark is None:
            from graphkit.session import get_session

            spark = get_session()
        source = read_edges(spark, path, options)
        if isinstance(source, CSRGraph):
            return cls.from_csr(spark, source)
        return cls.from_edges(source, directed=options.directed, weighted=options.weight_col is not None,
                              self_loops=options.self_loops)

    @classmethod
    def from_edges(cls, edges, *, src: str = SRC, dst: str = DST, weight: str | None = None,
                   directed: bool = True, weighted: bool | None = None, self_loops: str = "keep",
                   vertices=None) -> "Graph":
        """Build from an edge DataFrame whose endpoints are user ids of any (orderable) type.

        Parameters
        ----------
        edges : DataFrame
            One row per edge.
        src, dst, weight : str
            Column names; ``weight=None`` means unweighted (a column named ``weight`` is used
            when ``weighted=True``).
        directed : bool
        self_loops : {"keep", "drop"}
        vertices : DataFrame, optional
            Extra vertex ids (column ``id`` or ``name``), so isolated vertices are kept.
        """
        from pyspark.sql import functions as F

        if self_loops not in SELF_LOOP_POLICIES:
            raise ValueError(f"self_loops must be one of {SELF_LOOP_POLICIES}, got {self_loops!r}")
        weighted = bool(weight) if weighted is None else weighted
        weight = weight or (WEIGHT if weighted else None)
        for column in [src, dst] + ([weight] if weight else []):
            if column not in edges.columns:
                raise InputFormatError(f"edge column {column!r} not found; columns are {edges.columns}")
        e = edges.select(
            F.col(src).alias(SRC), F.col(dst).alias(DST),
            (F.col(weight).cast("double") if weight else F.lit(1.0)).alias(WEIGHT),
        )
        if self_loops == "drop":
            e = e.filter(F.col(SRC) != F.col(DST))
        names = e.select(F.col(SRC).alias(NAME)).union(e.select(F.col(DST).alias(NAME)))
        if vertices is not None:
            col = NAME if NAME in vertices.columns else ID
            names = names.union(vertices.select(F.col(col).cast(names.schema[NAME].dataType).alias(NAME)))
        names = names.distinct()
        spark = edges.sparkSession
        # Dense ids in sorted user-id order: deterministic, and identical to the local reader's.
        indexed = names.orderBy(NAME).rdd.map(lambda r: r[0]).zipWithIndex()
        vertices_df = spark.createDataFrame(indexed, schema=f"{NAME} {names.schema[NAME].dataType.simpleString()}, {ID} long")
        vertices_df = vertices_df.select(ID, NAME).cache()
        n = vertices_df.count()
        if n == 0:
            raise EmptyGraphError("graph has no vertices")
        lookup = vertices_df.select(F.col(NAME).alias("_n"), F.col(ID).alias("_i"))
        dense = (
            e.join(lookup, e[SRC] == lookup["_n"]).select(F.col("_i").alias(SRC), DST, WEIGHT)
        )
        dense = dense.join(lookup, dense[DST] == lookup["_n"]).select(SRC, F.col("_i").alias(DST), WEIGHT)
        if not directed:
            dense = dense.select(F.least(SRC, DST).alias(SRC), F.greatest(SRC, DST).alias(DST), WEIGHT)
        merged = dense.groupBy(SRC, DST).agg(
            (F.sum(WEIGHT) if weighted else F.lit(1.0)).alias(WEIGHT)
        ).cache()
        if merged.count() == 0:
            raise EmptyGraphError("graph has no edges")
        return cls(vertices_df, merged, directed=directed, weighted=weighted)

    @classmethod
    def from_dataframes(cls, vertices, edges, **kwargs) -> "Graph":
        """Build from a vertex DataFrame (column ``id``) and an edge DataFrame (``src``, ``dst``)."""
        return cls.from_edges(edges, vertices=vertices, **kwargs)

    @classmethod
    def from_graphframe(cls, graphframe, **kwargs) -> "Graph":
        """Build from a ``graphframes.GraphFrame``: its vertex ``id`` values become the user ids.

        A ``weight`` edge column is used as the edge weight. ``Graph.from_graphframe(g.graphframe)``
        gives back ``g``: same user ids, same dense ids, same edges.
        """
        if WEIGHT in graphframe.edges.columns:
            kwargs.setdefault("weight", WEIGHT)
        return cls.from_edges(graphframe.edges, vertices=graphframe.vertices.select(ID), **kwargs)

    @classmethod
    def from_csr(cls, spark, csr: CSRGraph) -> "Graph":
        """Distribute a :class:`CSRGraph` (e.g. the embedded demo graph) as a Graph."""
        import pandas as pd

        src = np.repeat(np.arange(csr.num_vertices, dtype=np.int64), csr.out_degree())
        dst = csr.indices.astype(np.int64)
        w = csr.edge_weights()
        if not csr.directed:
            keep = src <= dst
            src, dst, w = src[keep], dst[keep], w[keep]
        names = csr.ids.tolist()
        vertices = spark.createDataFrame(
            pd.DataFrame({ID: np.arange(csr.num_vertices, dtype=np.int64), NAME: names})
        ).cache()
        edges = spark.createDataFrame(pd.DataFrame({SRC: src, DST: dst, WEIGHT: w})).cache()
        return cls(vertices, edges, directed=csr.directed, weighted=csr.weights is not None)

    # -- basic facts --------------------------------------------------------------------------
    @cached_property
    def num_vertices(self) -> int:
        """Number of vertices (a Spark action, cached)."""
        return self.vertices.count()

    @cached_property
    def num_edges(self) -> int:
        """Number of edges as stored: directed edges, or undirected edges counted once."""
        return self.edges.count()

    @cached_property
    def num_self_loops(self) -> int:
        from pyspark.sql import functions as F

        return self.edges.filter(F.col(SRC) == F.col(DST)).count()

    def degrees(self):
        """DataFrame ``(id, name, in_degree, out_degree)``; undirected: both equal the degree.

        A self-loop counts once in each direction it is stored.
        """
        from pyspark.sql import functions as F

        e = self.symmetric_edges()
        out_deg = e.groupBy(F.col(SRC).alias(ID)).agg(F.count("*").alias("out_degree"))
        in_deg = e.groupBy(F.col(DST).alias(ID)).agg(F.count("*").alias("in_degree"))
        return (
            self.vertices.join(in_deg, ID, "left").join(out_deg, ID, "left")
            .select(ID, NAME, F.coalesce("in_degree", F.lit(0)).alias("in_degree"),
                    F.coalesce("out_degree", F.lit(0)).alias("out_degree"))
        )

    def degree_stats(self) -> dict:
        """min / max / mean / median of out-degree (total degree when undirected), isolated count."""
        from pyspark.sql import functions as F

        row = self.degrees().agg(
            F.min("out_degree").alias("min"), F.max("out_degree").alias("max"),
            F.mean("out_degree").alias("mean"),
            F.percentile_approx("out_degree", 0.5).alias("median"),
            F.sum(((F.col("out_degree") + F.col("in_degree")) == 0).cast("int")).alias("isolated"),
            F.max("in_degree").alias("max_in"),
        ).first()
        return {k: (float(v) if k == "mean" else int(v)) for k, v in row.asDict().items()}

    def symmetric_edges(self):
        """The edges a walk can follow: an undirected graph's in both directions (self-loops
        once), a directed graph's as stored."""
        from pyspark.sql import functions as F

        if self.directed:
            return self.edges
        rev = self.edges.filter(F.col(SRC) != F.col(DST)).select(
            F.col(DST).alias(SRC), F.col(SRC).alias(DST), WEIGHT)
        return self.edges.unionByName(rev)

    def fingerprint(self) -> dict:
        """Order-independent identity of this graph, recorded in every artifact built from it
        (two Spark aggregations; cached).

        Returns
        -------
        dict
            ``fingerprint`` (a string), ``num_vertices``, ``num_edges``, ``directed``,
            ``weighted``; equal to :func:`graphkit.fingerprint.csr_fingerprint` of
            :meth:`to_csr` (see :mod:`graphkit.fingerprint` for the definition).
        """
        if self._fingerprint is None:
            from graphkit.fingerprint import spark_fingerprint

            self._fingerprint = spark_fingerprint(self.vertices, self.edges, directed=self.directed,
                                                  weighted=self.weighted)
        return dict(self._fingerprint)

    # -- GraphFrames --------------------------------------------------------------------------
    @property
    def graphframe(self):
        """This graph as a ``graphframes.GraphFrame`` in the user's ids.

        Vertices ``(id)``, edges ``(src, dst, weight)``; an undirected graph's edges appear once,
        as stored (GraphFrames' own algorithms treat edges as directed where it matters).
        Raises :class:`~graphkit.errors.RuntimeDependencyError` with set-up instructions when the
        GraphFrames JVM package is not on the class path.
        """
        from pyspark.sql import functions as F

        vertices = self.vertices.select(F.col(NAME).alias(ID))
        return _jvm.make_graphframe(self.spark, vertices, self.translate(self.edges, SRC, DST).select(SRC, DST, WEIGHT))

    def connected_components(self):
        """(Weakly) connected components: DataFrame ``(id, name, component)`` (Spark actions).

        ``component`` is the smallest dense id in the component. Two GraphFrames algorithms, on
        the dense ids: first GraphX's label propagation for at most
        :data:`GRAPHX_COMPONENT_ROUNDS` rounds, which is exact once no edge joins two labels
        (checked, one join); a graph whose diameter needs more rounds (long paths, road-like
        graphs) falls back to the two-phase algorithm, which needs O(log n) rounds whatever the
        diameter. GraphX alone is not safe: GraphFrames 0.11 stops it after 31 rounds by
        default and returns the unfinished labels as components. Raises
        :class:`~graphkit.errors.RuntimeDependencyError` when the JVM package is missing.
        Timings and the choice: README, design notes; docs/benchmarks.md, peers.
        """
        frame = _jvm.make_graphframe(self.spark, self.vertices.select(ID), self.edges.select(SRC, DST))
        labels = self._propagated_labels(frame) if self.num_edges <= GRAPHX_COMPONENT_MAX_EDGES else None
        if labels is None:
            labels = self._two_phase_labels(frame)
        return self.vertices.join(labels, ID).select(ID, NAME, COMPONENT)

    def _propagated_labels(self, frame):
        """GraphX's labels ``(id, component)``, or None when they have not converged.

        Converged means no edge joins two different labels (one join); each label is then the
        smallest id of its component, as label propagation carries minima.
        """
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        labels = frame.connectedComponents(algorithm="graphx", max_iter=GRAPHX_COMPONENT_ROUNDS)
        labels = labels.select(ID, F.col(COMPONENT).cast("long").alias(COMPONENT)).persist(StorageLevel.MEMORY_AND_DISK)
        src = labels.select(F.col(ID).alias(SRC), F.col(COMPONENT).alias("_a"))
        dst = labels.select(F.col(ID).alias(DST), F.col(COMPONENT).alias("_b"))
        crossing = self.edges.select(SRC, DST).join(src, SRC).join(dst, DST).where(F.col("_a") != F.col("_b"))
        if crossing.isEmpty():
            return labels
        labels.unpersist()
        return None

    def _two_phase_labels(self, frame):
        """The two-phase algorithm's labels ``(id, component)``, renormalised to the smallest id."""
        from pyspark.sql import functions as F

        # broadcastThreshold=-1 hands skewed joins to AQE (GraphFrames 0.11's recommendation):
        # 52.5 s against 93.8 s on R-MAT 2^20, the size this path serves; slower on small graphs.
        # Without a checkpoint directory, local checkpoints keep it running.
        cc = frame.connectedComponents(broadcastThreshold=-1,
                                       use_local_checkpoints=self.spark.sparkContext.getCheckpointDir() is None)
        labels = cc.select(ID, F.col(COMPONENT).cast("long").alias("_c"))
        smallest = labels.groupBy("_c").agg(F.min(ID).alias(COMPONENT))
        return labels.join(smallest, "_c").select(ID, COMPONENT)

    def component_stats(self) -> dict:
        """``{"components": count, "largest": size}`` (Spark actions)."""
        from pyspark.sql import functions as F

        sizes = self.connected_components().groupBy(COMPONENT).count()
        row = sizes.agg(F.count("*").alias("components"), F.max("count").alias("largest")).first()
        return {"components": int(row["components"]), "largest": int(row["largest"])}

    # -- one-machine hand-off -----------------------------------------------------------------
    def vertex_names(self) -> np.ndarray:
        """User ids indexed by dense id (collected to the driver)."""
        pdf = self.vertices.orderBy(ID).select(NAME).toPandas()
        values = pdf[NAME].to_numpy()
        return values.astype(np.int64) if values.dtype.kind in "iu" else values.astype(str)

    def to_csr(self) -> CSRGraph:
        """Collect the graph into a :class:`CSRGraph` for one-machine consumers (Spark action).

        Raises ``GraphkitError`` for graphs above ``MAX_COLLECT_EDGES`` stored edges.
        """
        if self.num_edges > MAX_COLLECT_EDGES:
            raise GraphkitError(f"graph has {self.num_edges:,} edges: too large to collect to one machine")
        pdf = self.edges.select(SRC, DST, WEIGHT).toPandas()
        weights = pdf[WEIGHT].to_numpy(np.float64) if self.weighted else None
        return CSRGraph.from_edges(pdf[SRC].to_numpy(np.int64), pdf[DST].to_numpy(np.int64),
                                   self.num_vertices, weights, self.vertex_names(), self.directed)

    def translate(self, frame, *columns: str):
        """Replace dense-id columns of ``frame`` by the user's ids (same column names)."""
        from pyspark.sql import functions as F

        for column in columns:
            lookup = self.vertices.select(F.col(ID).alias("_id"), F.col(NAME).alias("_name"))
            frame = frame.join(F.broadcast(lookup) if self.num_vertices < 2_000_000 else lookup,
                               frame[column] == F.col("_id")).drop(column, "_id").withColumnRenamed("_name", column)
        return frame

    def __repr__(self) -> str:
        kind = "directed" if self.directed else "undirected"
        return f"Graph({kind}, weighted={self.weighted})"
