"""Shared cluster-scenario fixtures and hooks (molecule/shared/cluster/kubelab_cluster_fixtures.py, __all__)."""

from kubelab_cluster_fixtures import *  # noqa: F401,F403
