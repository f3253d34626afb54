"""The banking lab's Vault needs, as plan mode renders them (vault/vault-config.yaml) from lab.yml platform: through
preflight's kubelab_lab_platform: one Kubernetes auth role bound to every student's banking-core copy in namespace
tenancy, to banking-core in cluster tenancy. The same plan runs as test_tenancy.py / test_labs_plan.py (cached)."""

import os

import yaml

STUDENTS = '{"kubelab_students": [{"name": "alice"}, {"name": "bob"}, {"name": "carol"}]}'


def vault_config(build_dir, cluster):
    with open(os.path.join(build_dir, "plan", cluster, "vault", "vault-config.yaml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_namespace_tenancy_binds_one_role_to_every_students_banking_namespace(plan_day, tmp_path_factory):
    build_dir = plan_day(tmp_path_factory, 3, "-e", "kubelab_tenancy=namespace", "-e", STUDENTS)
    roles = vault_config(build_dir, "kubelab-shared")["kubernetes_roles"]
    assert [r["name"] for r in roles] == ["payment-processor"]
    assert roles[0]["bound_service_account_namespaces"] == [
        "alice-banking-core", "bob-banking-core", "carol-banking-core"]
    assert roles[0]["bound_service_account_names"] == ["payment-processor-sa"]


def test_cluster_tenancy_binds_the_banking_namespace(plan_day, tmp_path_factory):
    build_dir = plan_day(tmp_path_factory, 3)
    config = vault_config(build_dir, "kubelab-instructor")
    assert [(r["name"], r["bound_service_account_namespaces"]) for r in config["kubernetes_roles"]] == [
        ("payment-processor", ["banking-core"])]
    assert [p["name"] for p in config["policies"]] == ["payment-processor"]
    assert config["kv_secrets"] == [{"path": "banking/payment-processor", "generated_keys": ["api_key"]}]
