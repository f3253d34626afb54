"""The API double serves ValidatingAdmissionPolicy and its binding, which the students role applies in namespace
tenancy (roles/students: tenancy.yaml); it stores them and, like the rest of its admission, enforces nothing."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))

from kubesim.testing import running  # noqa: E402

GROUP = "/apis/admissionregistration.k8s.io/v1"
APPLY = "application/apply-patch+yaml"
POLICY = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
          "metadata": {"name": "guard"},
          "spec": {"failurePolicy": "Fail", "validations": [{"expression": "true"}],
                   "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                           "operations": ["CREATE"], "resources": ["pods"]}]}}}
BINDING = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
           "metadata": {"name": "guard"}, "spec": {"policyName": "guard", "validationActions": ["Deny"]}}


def test_policies_and_bindings_are_discovered_cluster_scoped_and_applied_idempotently(tmp_path):
    with running(tmp_path / "sim") as sim:
        resources = {r["name"]: r for r in sim.request("GET", GROUP)[1]["resources"]}
        assert resources["validatingadmissionpolicies"]["namespaced"] is False
        assert resources["validatingadmissionpolicybindings"]["kind"] == "ValidatingAdmissionPolicyBinding"
        for plural, body in (("validatingadmissionpolicies", POLICY), ("validatingadmissionpolicybindings", BINDING)):
            path = "%s/%s/guard?fieldManager=kubelab-students&force=true" % (GROUP, plural)
            first = sim.request("PATCH", path, body, APPLY)
            again = sim.request("PATCH", path, body, APPLY)
            assert first[0] in (200, 201) and again[0] == 200, (first, again)
            assert again[1]["metadata"]["resourceVersion"] == first[1]["metadata"]["resourceVersion"]
            assert sim.request("GET", "%s/%s/guard" % (GROUP, plural))[1]["spec"] == body["spec"]
