"""Fixtures of this package's topologies (each module requests the ones it uses)."""

from tests.topology.cluster_fixtures import cluster_nodes, mgets, on_cluster  # noqa: F401 - fixtures used here
