# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""kubelab's errors, one small hierarchy (the kubernetes.core model: module_utils/k8s/exceptions.py).

Raise an InputError subclass when a value the user sets is wrong; its message starts with that variable, as the
user writes it in the inventory, group_vars, -e or a lab file, and says the fix. Filters are registered through
filters(), which turns any KubelabError into Ansible's AnsibleFilterError carrying just that message.
"""

from __future__ import annotations

import functools


class KubelabError(Exception):
    """Any error kubelab raises on purpose: the message is the whole report, no traceback needed."""


class InputError(KubelabError, ValueError):
    """A value the user sets is wrong: the message names the variable and the fix."""


class PlanError(InputError):
    """The class plan cannot be made from the roster, the cluster shape or the Docker hosts."""


class KubeadmInventoryError(InputError):
    """The kubeadm inventory's groups or host variables do not describe a cluster."""


class LabError(InputError):
    """A lab (labs/<id>/: lab.yml, manifests, checks) cannot be loaded, expanded or checked."""


class ArtifactError(KubelabError, ValueError):
    """A role asked kubelab.core.plan_artifact for an artifact it cannot write (a bug in the role's task)."""


def filters(mapping):
    """FilterModule.filters() of every kubelab filter file: each function reports a KubelabError as
    AnsibleFilterError(message) instead of a traceback."""
    return {name: _plain(func) for name, func in mapping.items()}


def _plain(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except KubelabError as err:
            from ansible.errors import AnsibleFilterError  # controller-side only: module_utils stay importable

            raise AnsibleFilterError(str(err)) from None

    return wrapper
