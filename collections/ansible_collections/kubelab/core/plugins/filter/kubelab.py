# -*- coding: utf-8 -*-
"""kubelab's planning filters (the logic is in module_utils/: class_plan.py, placement.py, existing_cluster.py)."""

from __future__ import annotations

from ansible_collections.kubelab.core.plugins.module_utils.class_plan import (
    PlanError,
    capacity_estimate,
    class_plan,
    cluster_ports,
    kind_config,
)
from ansible_collections.kubelab.core.plugins.module_utils.existing_cluster import (
    api_endpoint,
    kubeconfig_context,
    problems,
)
from ansible_collections.kubelab.core.plugins.module_utils.filter_errors import plain_errors
from ansible_collections.kubelab.core.plugins.module_utils.placement import create_rounds, placement_hosts, release


class FilterModule:
    """kubelab planning filters."""

    def filters(self):
        return {name: plain_errors(PlanError)(func) for name, func in (
            ("class_plan", class_plan),
            ("kind_config", kind_config),
            ("capacity_estimate", capacity_estimate),
            ("cluster_ports", cluster_ports),
            ("placement_hosts", placement_hosts),
            ("create_rounds", create_rounds),
            ("placement_release", release),
        )} | {name: plain_errors(ValueError)(func) for name, func in (
            ("existing_problems", problems),
            ("existing_kubeconfig", kubeconfig_context),
            ("existing_api_endpoint", api_endpoint),
        )}
