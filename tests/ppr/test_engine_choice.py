"""engine="auto" chooses on measured fingerprint sizes, not on the worst case (no Spark needed:
the choice is a function of the collected CSR)."""

import numpy as np
import pytest

from graphkit import io
from graphkit.ppr import kernels as K
from graphkit.ppr.spark import FullyPersonalizedPageRank
from tests.conftest import dataset


def test_sampled_entries_bracket_the_true_mean():
    """On email-Eu-core every fingerprint is cheap to compute: the estimate from 256 sampled
    vertices is an upper estimate of the true mean, and not a loose one."""
    csr = io.load_csr(dataset("email_eu_core", "email-Eu-core.txt"))
    model = FullyPersonalizedPageRank(walks=2000, seed=3)
    full = K.fingerprints(csr.indptr, csr.indices, csr.weights, walks=2000, seed=3,
                          threshold=model.threshold)
    true_mean = np.diff(full.indptr).mean()
    estimate = model.sample_entries_per_vertex(csr, sample=256)
    assert true_mean * 0.97 <= estimate <= true_mean * 1.3
    assert model.sample_entries_per_vertex(csr, sample=5000) == pytest.approx(true_mean)  # sample = all


@pytest.mark.slow
@pytest.mark.parametrize("name, parts, directed", [
    ("soc-Slashdot0902", ("soc_slashdot0902", "soc-Slashdot0902.txt.gz"), False),
    ("com-DBLP", ("com_dblp", "dblp.csv.gz"), False),
])
def test_auto_keeps_the_fast_path_where_it_is_30x_faster(name, parts, directed):
    """The benchmark measured the fast path at 138 s on soc-Slashdot0902 (undirected) against
    about 80 minutes for the distributed engine, and com-DBLP likewise; the worst-case bound sent
    both to the distributed engine. On the measured size, auto picks the fast path."""
    csr = io.load_csr(dataset(*parts), directed=directed)
    model = FullyPersonalizedPageRank()
    edges = csr.num_edges
    assert model.choose_engine(csr.num_vertices, edges) == "distributed"  # the old worst-case answer
    entries = model.sample_entries_per_vertex(csr)
    assert entries < 0.2 / model.threshold
    assert model.estimate_task_bytes(csr.num_vertices, edges, entries) < model.max_broadcast_bytes / 2
    assert model.choose_engine(csr.num_vertices, edges, entries) == "local"


def test_estimator_contract_without_spark_actions():
    """Parameters are the constructor's, stored unchanged (walk_settings stays None until fit),
    so scikit-learn's clone works; transform before fit raises the one NotFittedError."""
    from graphkit.base import NotFittedError
    from graphkit.ppr.distributed import WalkSettings

    clone = pytest.importorskip("sklearn.base").clone
    model = FullyPersonalizedPageRank(walks=50, top_k=3)
    assert model.walk_settings is None and model.get_params()["top_k"] == 3
    assert repr(model) == "FullyPersonalizedPageRank(top_k=3, walks=50)"
    settings = WalkSettings(block_size=8)
    copy = clone(model.set_params(walk_settings=settings))
    assert copy.get_params(deep=False) == model.get_params(deep=False) and copy.walk_settings == settings
    with pytest.raises(NotFittedError):
        model.transform()
    for bad in ({"engine": "gpu"}, {"seed": -1}, {"walk_settings": {"block_size": 8}}):
        with pytest.raises((ValueError, TypeError)):
            FullyPersonalizedPageRank(**bad)._validate_params()
