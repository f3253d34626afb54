# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action plugin for kubelab.core.class_plan: the plan is computed on the controller, in-process.

Running the module through the connection would start a Python process for it; every playbook that plans the
class (each day, make check, teardown) calls it once.
"""

from __future__ import annotations

import json

from ansible.plugins.action import ActionBase

from ansible_collections.kubelab.core.plugins.module_utils.class_plan import ARGUMENT_SPEC, REQUIRED_TOGETHER, run
from ansible_collections.kubelab.core.plugins.module_utils.errors import KubelabError


class ActionModule(ActionBase):
    """Validate the arguments like the module would, then plan the class on the controller."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC,
                                                       required_together=REQUIRED_TOGETHER)
        # Templated values arrive as Ansible's tagged dict/str subclasses; the planner wants plain types.
        args = json.loads(json.dumps(args))
        try:
            result.update(run(args))
        except (KubelabError, OSError) as err:
            result.update(failed=True, msg=str(err))
        return result
