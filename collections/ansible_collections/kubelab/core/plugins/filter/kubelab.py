# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""kubelab's planning filters (the logic is in module_utils/: class_plan, kind_config, placement, existing_cluster)."""

from __future__ import annotations

from ansible_collections.kubelab.core.plugins.module_utils.class_plan import (
    capacity_estimate,
    class_plan,
    cluster_ports,
    play_clusters,
)
from ansible_collections.kubelab.core.plugins.module_utils.errors import filters
from ansible_collections.kubelab.core.plugins.module_utils.existing_cluster import (
    api_endpoint,
    kubeconfig_context,
    problems,
)
from ansible_collections.kubelab.core.plugins.module_utils.kind_config import kind_config
from ansible_collections.kubelab.core.plugins.module_utils.placement import create_rounds, placement_hosts, release


class FilterModule:
    """kubelab planning filters."""

    def filters(self):
        return filters({
            "class_plan": class_plan,
            "kind_config": kind_config,
            "capacity_estimate": capacity_estimate,
            "cluster_ports": cluster_ports,
            "play_clusters": play_clusters,
            "placement_hosts": placement_hosts,
            "create_rounds": create_rounds,
            "placement_release": release,
            "existing_problems": problems,
            "existing_kubeconfig": kubeconfig_context,
            "existing_api_endpoint": api_endpoint,
        })
