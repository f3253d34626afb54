# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action plugin for kubelab.core.plan_artifact: plans live on the controller, so write them in-process.

Running the module through the connection would start one Python process per artifact; a day renders
dozens per cluster and a class has up to thirty clusters.
"""

from __future__ import annotations

import json

from ansible.plugins.action import ActionBase

from ansible_collections.kubelab.core.plugins.module_utils.plan_artifact import (
    ARGUMENT_SPEC,
    MUTUALLY_EXCLUSIVE,
    REQUIRED_ONE_OF,
    REQUIRED_TOGETHER,
    run,
)


class ActionModule(ActionBase):
    """Validate the arguments like the module would, then write the artifact on the controller."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        validation, args = self.validate_argument_spec(
            argument_spec=ARGUMENT_SPEC, mutually_exclusive=MUTUALLY_EXCLUSIVE, required_one_of=REQUIRED_ONE_OF,
            required_together=REQUIRED_TOGETHER)
        # Templated values arrive as Ansible's tagged dict/str subclasses; YAML needs plain types.
        args = json.loads(json.dumps(args))
        try:
            result.update(run(args, bool(self._task.check_mode)))
        except (ValueError, OSError) as err:
            result.update(failed=True, msg="plan_artifact %s: %s" % (args.get("path") or "artifacts", err))
        return result
