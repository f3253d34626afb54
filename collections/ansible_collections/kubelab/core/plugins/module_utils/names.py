# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Name rules shared by every kubelab plugin: DNS-1123 labels, the labels kubelab sets, the zones."""

from __future__ import annotations

import re

from ansible_collections.kubelab.core.plugins.module_utils.errors import InputError

# Kubernetes object names that are labels (namespaces, nodes' zones, kind cluster names): RFC 1123, at most 63.
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_LABEL_MAX = 63
# Every namespace a student owns carries this label (value: the student's name).
STUDENT_LABEL = "kubelab.dev/student"
# The well-known node labels the three simulated zones live in.
ZONE_LABEL = "topology.kubernetes.io/zone"
REGION_LABEL = "topology.kubernetes.io/region"
# The label the API server sets on every namespace (its name); NetworkPolicies select namespaces by it.
NAME_LABEL = "kubernetes.io/metadata.name"
# The default of kubelab_zones.
ZONES = ("zone-a", "zone-b", "zone-c")


def check_label(value, variable, what="name", max_len=DNS1123_LABEL_MAX):
    """Raise InputError naming `variable` unless value is a DNS-1123 label of at most max_len characters."""
    if not isinstance(value, str) or not DNS1123_LABEL.match(value) or len(value) > max_len:
        raise InputError(
            "%s: %r is not a valid %s: use a DNS-1123 label (lowercase letters, digits and '-', starting and "
            "ending with a letter or digit, at most %d characters)" % (variable, value, what, max_len))
