# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action plugin for kubelab.core.class_board: the board lives on the controller, so write it in-process.

Running the module through the connection would start a Python process for each call; every day playbook
calls it twice, in plan mode too.
"""

from __future__ import annotations

import json

from ansible.plugins.action import ActionBase

from ansible_collections.kubelab.core.plugins.module_utils.class_board import ARGUMENT_SPEC, REQUIRED_IF, run
from ansible_collections.kubelab.core.plugins.module_utils.errors import KubelabError


class ActionModule(ActionBase):
    """Validate the arguments like the module would, then write the board on the controller."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF)
        # Templated values arrive as Ansible's tagged dict/str subclasses; JSON needs plain types.
        args = json.loads(json.dumps(args))
        try:
            result.update(run(args, bool(self._task.check_mode)))
        except (KubelabError, OSError) as err:
            result.update(failed=True, msg=str(err))
        return result
