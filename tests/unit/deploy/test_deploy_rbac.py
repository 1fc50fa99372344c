"""The operator's RBAC is least privilege, and grants everything the code calls."""

from collections.abc import Iterator
from typing import Any

import pytest
from deploy_support import (
    CHILD_VERBS,
    DEPLOY,
    deploy_objects,
    known_resources,
    load,
    logging_objects,
    operator_needs,
)

Rule = dict[str, Any]


def operator_rules() -> list[Rule]:
    """Every rule bound to the operator's service account: its ClusterRoles and its Roles (leader
    election in its own namespace, log forwarders in the logging namespace)."""
    objects = [
        *deploy_objects(),
        *load(DEPLOY / "self-managed" / "webhook-clusterrole.yaml"),
        *logging_objects(),
    ]
    bound = {
        (obj["roleRef"]["kind"], obj["roleRef"]["name"])
        for obj in objects
        if obj["kind"] in ("ClusterRoleBinding", "RoleBinding")
        and any(s["kind"] == "ServiceAccount" and s["name"] == "greenshift-operator" for s in obj["subjects"])
    }
    assert bound == {
        ("ClusterRole", "greenshift-operator"),
        ("ClusterRole", "greenshift-operator-webhook"),
        ("Role", "greenshift-operator-leader-election"),
        ("Role", "greenshift-operator-logging"),
    }
    return [
        rule for obj in objects if (obj["kind"], obj["metadata"]["name"]) in bound for rule in obj["rules"]
    ]


def test_leases_only_in_the_operators_own_namespace() -> None:
    """Leader election needs Leases where the operator runs, nowhere else."""
    cluster_wide = [rule for obj in deploy_objects() if obj["kind"] == "ClusterRole" for rule in obj["rules"]]
    assert all("coordination.k8s.io" not in rule["apiGroups"] for rule in cluster_wide)
    role = next(o for o in deploy_objects() if o["kind"] == "Role")
    binding = next(o for o in deploy_objects() if o["kind"] == "RoleBinding")
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == "greenshift-system"
    assert binding["subjects"][0]["namespace"] == "greenshift-system"


def grants(rules: list[Rule]) -> Iterator[tuple[str, str, str, tuple[str, ...]]]:
    for rule in rules:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    yield group, resource, verb, tuple(rule.get("resourceNames") or ())


def test_no_wildcards_anywhere() -> None:
    for rule in operator_rules():
        for key in ("apiGroups", "resources", "verbs", "resourceNames"):
            assert "*" not in rule.get(key, []), rule
        assert "nonResourceURLs" not in rule


@pytest.mark.parametrize("verb", ["escalate", "impersonate"])
def test_no_escalate_or_impersonate(verb: str) -> None:
    assert [g for g in grants(operator_rules()) if g[2] == verb] == []


def test_bind_only_on_the_tenants_cluster_roles_by_name() -> None:
    binds = [g for g in grants(operator_rules()) if g[2] == "bind"]
    assert binds
    for group, resource, _, names in binds:
        assert (group, resource) == ("rbac.authorization.k8s.io", "clusterroles")
        # the owners' and the viewers' (the log collector's bindings are the install's: deploy/logging/)
        assert sorted(names) == ["greenshift-tenant-admin", "view"]


def test_log_forwarders_only_in_the_logging_namespace() -> None:
    """The operator keeps one forwarder, in the logging namespace: a Role there, nothing
    cluster-wide (a right on forwarders everywhere could ship any namespace's logs); and no
    ServiceAccounts any more (the collector's is the install's)."""
    operators = [*deploy_objects(), *load(DEPLOY / "self-managed" / "webhook-clusterrole.yaml")]
    cluster_wide = [
        rule
        for obj in operators
        if obj["kind"] == "ClusterRole" and obj["metadata"]["name"].startswith("greenshift-operator")
        for rule in obj["rules"]
    ]
    assert cluster_wide
    assert all("observability.openshift.io" not in rule["apiGroups"] for rule in cluster_wide)
    assert [g for g in grants(operator_rules()) if g[1] == "serviceaccounts"] == []
    role = next(o for o in logging_objects() if o["kind"] == "Role")
    binding = next(o for o in logging_objects() if o["kind"] == "RoleBinding")
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == "openshift-logging"
    assert {(g, r, v) for g, r, v, _ in grants(role["rules"])} == {
        ("observability.openshift.io", "clusterlogforwarders", verb) for verb in CHILD_VERBS
    }
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "greenshift-operator-logging",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "greenshift-operator", "namespace": "greenshift-system"}
    ]


def test_the_collector_is_bound_cluster_wide_as_red_hat_documents() -> None:
    """collect-application-logs, and for a LokiStack logging-collector-logs-writer, bound by
    ClusterRoleBindings to the collector's account in the logging namespace; nothing else."""
    account = next(o for o in logging_objects() if o["kind"] == "ServiceAccount")
    assert (account["metadata"]["name"], account["metadata"]["namespace"]) == (
        "greenshift-log-collector",
        "openshift-logging",
    )
    bindings = [o for o in logging_objects() if o["kind"] == "ClusterRoleBinding"]
    assert sorted(b["roleRef"]["name"] for b in bindings) == [
        "collect-application-logs",
        "logging-collector-logs-writer",
    ]
    for binding in bindings:
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "greenshift-log-collector", "namespace": "openshift-logging"}
        ]


def test_no_secrets_at_all() -> None:
    assert [g for g in grants(operator_rules()) if g[1].startswith("secrets")] == []


def test_no_rights_on_roles_or_cluster_roles_beyond_bind() -> None:
    for group, resource, verb, _ in grants(operator_rules()):
        if resource in ("roles", "clusterroles", "clusterrolebindings"):
            assert verb == "bind", (group, resource, verb)


def test_webhook_configuration_only_by_name_and_only_get_patch() -> None:
    webhook = [g for g in grants(operator_rules()) if g[1] == "validatingwebhookconfigurations"]
    assert {(g[2], g[3]) for g in webhook} == {
        ("get", ("greenshift-webhook",)),
        ("patch", ("greenshift-webhook",)),
    }


def test_the_base_grants_nothing_on_webhook_configurations() -> None:
    role = next(
        o
        for o in deploy_objects()
        if o["kind"] == "ClusterRole" and o["metadata"]["name"] == "greenshift-operator"
    )
    assert all("admissionregistration.k8s.io" not in r["apiGroups"] for r in role["rules"])


def test_every_need_of_the_operator_is_granted() -> None:
    granted = {(g, r, v) for g, r, v, names in grants(operator_rules()) if not names}
    missing = [
        (group, resource, verb)
        for (group, resource), verbs in operator_needs().items()
        for verb in sorted(verbs)
        if (group, resource, verb) not in granted
    ]
    assert missing == []


def test_nothing_is_granted_beyond_the_needs() -> None:
    needs = operator_needs()
    extra = [
        (group, resource, verb)
        for group, resource, verb, names in grants(operator_rules())
        if not names and verb not in needs.get((group, resource), set())
    ]
    assert extra == []


def test_every_resource_the_client_knows_is_accounted_for() -> None:
    """A kind added to kube/resources.py needs a line in operator_needs and so in the ClusterRole."""
    assert known_resources() <= set(operator_needs())


def test_tenant_admin_manages_its_workloads_and_only_reads_its_isolation() -> None:
    role = next(o for o in deploy_objects() if o["metadata"]["name"] == "greenshift-tenant-admin")
    verbs: dict[tuple[str, str], set[str]] = {}
    for group, resource, verb, _ in grants(role["rules"]):
        verbs.setdefault((group, resource), set()).add(verb)
    writes = {"create", "update", "patch", "delete"}
    for managed in [
        ("greenshift.io", "documentsources"),
        ("greenshift.io", "gatewayroutes"),
        ("apps", "deployments"),
        ("", "services"),
        ("", "configmaps"),
        ("", "secrets"),
        ("", "persistentvolumeclaims"),
    ]:
        assert writes <= verbs[managed], managed
    for read_only in [
        ("networking.k8s.io", "networkpolicies"),
        ("", "resourcequotas"),
        ("", "limitranges"),
        ("rbac.authorization.k8s.io", "rolebindings"),
        ("networking.k8s.io", "ingresses"),
        ("observability.openshift.io", "clusterlogforwarders"),
    ]:
        assert verbs[read_only] == {"get", "list", "watch"}, read_only
    assert ("greenshift.io", "wallettenants") not in verbs
    everything = {v for vs in verbs.values() for v in vs}
    assert not everything & {"escalate", "impersonate", "bind", "*"}
