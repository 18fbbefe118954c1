"""MinHash-LSH neighbourhood signatures: local index and real-time similarity / community queries.

The Spark side (:mod:`graphkit.lsh.signatures`, :mod:`graphkit.lsh.pairs`, the estimator in
:mod:`graphkit.lsh.estimator` and the ``graphkit signatures`` job) computes signatures
with the kernels in :mod:`graphkit.lsh._kernels`; this package loads them (or computes them on one machine) into an
:class:`LSHIndex` and answers queries. Importing it never imports pyspark.
"""

from graphkit.lsh.community import CommunityResult, community
from graphkit.lsh.index import LSHIndex

__all__ = ["CommunityResult", "LSHIndex", "community"]
