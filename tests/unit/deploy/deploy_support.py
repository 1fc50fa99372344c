"""Helpers of the install tests: the deploy/ manifests and the operator's needs, derived from the code."""

from pathlib import Path
from typing import Any

import yaml

from greenshift.config import parse_platform_config
from greenshift.constants import GROUP, PLURALS
from greenshift.controllers.wiring import child_resources
from greenshift.kube.resources import KNOWN

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
Manifest = dict[str, Any]

CHILD_VERBS = ("get", "list", "watch", "create", "patch", "delete")


def load(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def deploy_objects() -> list[Manifest]:
    return [
        doc
        for path in sorted(DEPLOY.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in load(path)
    ]


def logging_objects() -> list[Manifest]:
    """deploy/logging/: what centralized logging adds in the logging namespace (docs/logging.md)."""
    folder = DEPLOY / "logging"
    listed = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))["resources"]
    return [doc for name in listed for doc in load(folder / name)]


def every_config_children() -> set[tuple[str, str]]:
    """(group, plural) of every child kind of every gateway flavor, with every add-on on."""
    found: set[tuple[str, str]] = set()
    for flavor in ("ingress", "gateway-api", "openshift-route"):
        config = parse_platform_config(
            {
                "kind": "PlatformConfig",
                "gateway": {"flavor": flavor},
                "monitoring": {"prometheusOperator": True},
                "certificates": {"certManager": True},
                "logging": {"flavor": "openshift-logging"},
            }
        )
        found |= {(ref.group, ref.plural) for ref in child_resources(config)}
    return found


def operator_needs() -> dict[tuple[str, str], set[str]]:
    """(group, resource) -> verbs, from what the operator's code calls."""
    needs: dict[tuple[str, str], set[str]] = {}
    for plural in PLURALS.values():
        needs[(GROUP, plural)] = {"get", "list", "watch", "patch"}  # watched, indexed; finalizers
        needs[(GROUP, f"{plural}/status")] = {"patch"}  # write_status
    for key in every_config_children() | {("", "services")}:  # Services: children, watched everywhere
        needs[key] = set(CHILD_VERBS)  # server-side apply (create+patch), watch, prune, release
    needs[("", "events")] = {"create"}  # EventPoster and kopf's events
    needs[("apiextensions.k8s.io", "customresourcedefinitions")] = {"list", "watch"}  # kopf's discovery
    needs[("coordination.k8s.io", "leases")] = {"get", "create", "update"}  # leader election, own namespace
    return needs


def known_resources() -> set[tuple[str, str]]:
    return {(ref.group, ref.plural) for ref in KNOWN}
