"""graphkit: large-scale graph analytics on Apache Spark, with millisecond local queries.

Importing :mod:`graphkit` is cheap and never starts (or imports) Spark: :class:`Graph` and the
session helpers are loaded on first use, so the local query side (``graphkit.lsh.LSHIndex``,
``graphkit.ppr.PPRIndex``, ``graphkit.embed.load_embeddings``) stays Spark-free.
"""

from graphkit._version import __version__
from graphkit.csr import CSRGraph
from graphkit.errors import GraphkitError

__all__ = ["__version__", "CSRGraph", "Graph", "GraphkitError", "get_session"]


def __getattr__(name):
    if name == "Graph":
        from graphkit.graph import Graph

        return Graph
    if name == "get_session":
        from graphkit.session import get_session

        return get_session
    raise AttributeError(f"module 'graphkit' has no attribute {name!r}")
