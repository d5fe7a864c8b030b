from tests.topology.cluster_fixtures import cluster_nodes, mgets, on_cluster  # noqa: F401 - fixtures used here
