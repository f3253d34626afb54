"""RBAC answers of the API double for an impersonated user (`kubectl auth can-i ... --as=USER`).

The double authenticates nobody and allows every request; only a SelfSubjectAccessReview sent with
Impersonate-User is answered from the stored Roles, ClusterRoles and their bindings, the way the RBAC
authorizer would (kubernetes plugin/pkg/auth/authorizer/rbac/rbac.go and pkg/apis/rbac/v1/evaluation_helpers.go:
a binding applies to the user, one of its groups or its ServiceAccount; a rule matches on verbs, apiGroups,
resources (with "*" and "resource/subresource") and resourceNames). The user's groups are those the
impersonation filter gives (k8s.io/apiserver pkg/endpoints/filters/impersonation.go): the Impersonate-Group
headers, or for a ServiceAccount user without them system:serviceaccounts and system:serviceaccounts:<ns>;
plus system:authenticated. Not modelled: aggregated ClusterRoles (no controller fills their rules), the
default ClusterRoles and bindings of a real cluster, nonResourceURLs, other authorizers (Node, webhooks).
"""

from __future__ import annotations

SA_PREFIX = "system:serviceaccount:"


def groups_of(user: str, groups: list[str]) -> list[str]:
    if not groups and user.startswith(SA_PREFIX):
        namespace = user[len(SA_PREFIX):].split(":")[0]
        groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]
    return list(groups) + ["system:authenticated"]


def _applies(binding: dict, user: str, groups: list[str]) -> bool:
    for subject in binding.get("subjects") or []:
        kind, name = subject.get("kind"), subject.get("name")
        if (kind == "User" and name == user) or (kind == "Group" and name in groups):
            return True
        if kind == "ServiceAccount" and user == f"{SA_PREFIX}{subject.get('namespace')}:{name}":
            return True
    return False


def _matches(rule: dict, attrs: dict) -> bool:
    resource = attrs.get("resource", "") + ("/" + attrs["subresource"] if attrs.get("subresource") else "")

    def has(field, value):
        values = rule.get(field) or []
        return "*" in values or value in values

    return (has("verbs", attrs.get("verb", "")) and has("apiGroups", attrs.get("group", ""))
            and has("resources", resource)
            and (not rule.get("resourceNames") or attrs.get("name", "") in rule["resourceNames"]))


def allowed(objects: dict, user: str, groups: list[str], attrs: dict) -> bool:
    """Whether a binding grants `attrs` (SelfSubjectAccessReview resourceAttributes) to user with groups."""
    namespace = attrs.get("namespace") or ""
    rbac = {key[1:]: obj for key, obj in objects.items() if key[0] == "rbac.authorization.k8s.io"}
    bindings = [b for (plural, ns, _n), b in rbac.items()
                if plural == "clusterrolebindings" or (plural == "rolebindings" and namespace and ns == namespace)]
    for binding in bindings:
        if not _applies(binding, user, groups):
            continue
        ref = binding.get("roleRef") or {}
        if ref.get("kind") == "ClusterRole":
            role = rbac.get(("clusterroles", "", ref.get("name")))
        else:
            role = rbac.get(("roles", binding["metadata"].get("namespace"), ref.get("name")))
        if role and any(_matches(rule, attrs) for rule in role.get("rules") or []):
            return True
    return False


# kubectl's typed client sends a SelfSubjectAccessReview as protobuf: "k8s\0", then runtime.Unknown (field 2: the
# object), SelfSubjectAccessReview (2: spec), its spec (1: resourceAttributes), whose string fields are numbered
# as below (k8s.io/api/authorization/v1/generated.proto).
_ATTRIBUTE_FIELDS = {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource", 6: "subresource", 7: "name"}


def _fields(data: bytes) -> dict[int, bytes]:
    """The length-delimited fields of a protobuf message (varints skipped; the last of a repeated field wins)."""
    out, i = {}, 0

    def varint():
        nonlocal i
        value = shift = 0
        while True:
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while i < len(data):
        key = varint()
        if key & 7 == 0:
            varint()
        elif key & 7 == 2:
            size = varint()
            out[key >> 3], i = data[i:i + size], i + size
        else:
            raise ValueError(f"protobuf wire type {key & 7} is not decoded")
    return out


def review_from_protobuf(data: bytes) -> dict:
    if not data.startswith(b"k8s\x00"):
        raise ValueError("not a Kubernetes protobuf body")
    spec = _fields(_fields(_fields(data[4:]).get(2, b"")).get(2, b""))
    attrs = _fields(spec.get(1, b""))
    return {"spec": {"resourceAttributes": {name: attrs[number].decode() for number, name in _ATTRIBUTE_FIELDS.items()
                                            if attrs.get(number)}}}
