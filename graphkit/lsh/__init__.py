"""MinHash-LSH neighbourhood signatures: local index and real-time similarity / community queries.

The rooms, as in every capability: Spark side :mod:`graphkit.lsh.spark` (the estimator,
``NeighbourhoodSignatures``, over the DataFrame steps in :mod:`~graphkit.lsh.signatures`, the
pair strategies in :mod:`~graphkit.lsh.pairs` and the artifact writer in :mod:`~graphkit.lsh.export`);
local side :class:`LSHIndex` (:mod:`~graphkit.lsh.index`) and community search
(:mod:`~graphkit.lsh.community`); evaluation :mod:`~graphkit.lsh.evaluation`; kernels
:mod:`~graphkit.lsh.kernels`; the ``graphkit signatures`` command :mod:`~graphkit.lsh.job`.
Importing this package never imports pyspark.
"""

from graphkit.lsh.community import CommunityResult, community
from graphkit.lsh.index import LSHIndex

__all__ = ["CommunityResult", "LSHIndex", "community"]
