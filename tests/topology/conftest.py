"""Fixtures of this package's topologies (each module requests the ones it uses)."""

from tests.reliability.conftest import member, signed_in  # noqa: F401 - fixtures used here
from tests.topology.cluster_fixtures import cluster_nodes, mgets, on_cluster  # noqa: F401 - fixtures used here
from tests.topology.sentinel_fixtures import on_sentinel, sentinel_topology  # noqa: F401 - fixtures used here
