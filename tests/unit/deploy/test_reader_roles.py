"""The ClusterRoles for people who run `greenshift catalog` and `greenshift usage` (deploy/).

tests/integration/security/test_reader_roles_real_server.py runs both commands' reads as users
bound to these roles on a real API server; this checks their shape offline.
"""

from typing import Any

import pytest
from deploy_support import DEPLOY, load

from greenshift.commands.usage import CHILD_KINDS
from greenshift.kube import ROUTES, SOURCES, TENANTS, ref_of_kind

READ = ["get", "list", "watch"]
THREE_KINDS = {(ref.group, ref.plural) for ref in (TENANTS, SOURCES, ROUTES)}


def roles() -> dict[str, list[dict[str, Any]]]:
    return {obj["metadata"]["name"]: obj["rules"] for obj in load(DEPLOY / "reader-clusterroles.yaml")}


def granted(rules: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {
        (group, resource) for rule in rules for group in rule["apiGroups"] for resource in rule["resources"]
    }


def test_two_roles_read_only() -> None:
    assert set(roles()) == {"greenshift-catalog-reader", "greenshift-usage-reader"}
    for rules in roles().values():
        for rule in rules:
            assert rule["verbs"] == READ
            assert "resourceNames" not in rule
            assert "*" not in rule["apiGroups"] + rule["resources"]


def test_catalog_reader_reads_the_three_kinds_only() -> None:
    assert granted(roles()["greenshift-catalog-reader"]) == THREE_KINDS


def test_usage_reader_reads_what_usage_lists() -> None:
    children = {(ref.group, ref.plural) for ref in (ref_of_kind(v, k) for v, k in CHILD_KINDS)}
    assert granted(roles()["greenshift-usage-reader"]) == THREE_KINDS | children


@pytest.mark.parametrize("resource", ["secrets", "pods", "pods/log", "pods/exec", "configmaps"])
def test_nothing_sensitive(resource: str) -> None:
    for rules in roles().values():
        assert all(resource != r for _, r in granted(rules))
