import pytest

from tests.cluster.standalone import StandaloneCluster


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """One standalone master and two workers on 127.0.0.1 for the cluster tests."""
    with StandaloneCluster(tmp_path_factory.mktemp("standalone"), workers=2) as running:
        yield running
