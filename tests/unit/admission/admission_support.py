"""Helpers of the admission tests: samples, and a Context over indexes made by the real index functions."""

import copy
from collections.abc import Iterable
from typing import Any

import kopf

from greenshift.config import PlatformConfig, parse_platform_config
from greenshift.controllers import indexes
from greenshift.controllers.context import Context
from greenshift.controllers.events import EventPoster
from greenshift.kube import KubeClient
from greenshift.runtime.queue import WorkQueue
from greenshift.schemas import with_defaults

Manifest = dict[str, Any]

# Which index functions kopf applies to which kind (as controllers/wiring.py registers them).
_INDEXERS: dict[str, tuple[str, Any]] = {
    "WalletTenant": (indexes.INDEX, indexes.facts),
    "DocumentSource": (indexes.INDEX, indexes.facts),
    "GatewayRoute": (indexes.INDEX, indexes.facts),
    "Service": ("services", indexes.services),
}
INDEX_NAMES = sorted({name for name, _ in _INDEXERS.values()})


def build_indices(objects: Iterable[Manifest]) -> dict[str, dict[Any, list[Any]]]:
    """What kopf's indexes hold when ``objects`` exist in the cluster."""
    result: dict[str, dict[Any, list[Any]]] = {name: {} for name in INDEX_NAMES}
    for obj in objects:
        name, function = _INDEXERS[obj["kind"]]
        for key, value in (function(obj) or {}).items():
            result[name].setdefault(key, []).append(value)
    return result


async def _never(_: Any) -> None:
    raise AssertionError("admission never reconciles")


def context(objects: Iterable[Manifest] = (), config: PlatformConfig | None = None) -> Context:
    """The operator's Context over the given cluster objects (its client is never called)."""
    client = KubeClient(kopf.ConnectionInfo(server="http://127.0.0.1:9"))
    return Context(
        client=client,
        config=config or parse_platform_config({}),
        settings=kopf.OperatorSettings(),
        queue=WorkQueue(_never),
        indices=build_indices(objects),  # type: ignore[arg-type]
        events=EventPoster(client),
    )


def config(**sections: Any) -> PlatformConfig:
    return parse_platform_config({"kind": "PlatformConfig", **sections})


def tenant(name: str = "bosa", created: str = "2026-01-01T00:00:00Z", **spec: Any) -> Manifest:
    body: Manifest = {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "WalletTenant",
        "metadata": {"name": name, "creationTimestamp": created},
        "spec": {
            "displayName": "FPS Policy and Support",
            "agency": "BOSA",
            "owners": [{"kind": "Group", "name": "bosa-admins"}],
            "allowedHosts": ["*.bosa.wallet.example.be"],
            **spec,
        },
    }
    return with_defaults(body)


def source(name: str = "identity", namespace: str = "wallet-bosa", **spec: Any) -> Manifest:
    body: Manifest = {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "DocumentSource",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "documentType": "identity",
            "displayName": "Identity",
            "upstream": {"url": "https://fsb.example.be/identity/v1"},
            "connector": {"image": "registry.greenshift.local/certified/connector-identity:1.0.0"},
            **spec,
        },
    }
    return with_defaults(body)


def route(
    name: str = "identity-v1",
    namespace: str = "wallet-bosa",
    created: str | None = None,
    **spec: Any,
) -> Manifest:
    body: Manifest = {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "GatewayRoute",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "host": "identity.bosa.wallet.example.be",
            "pathPrefix": "/identity/v1",
            "backend": {"documentSource": {"name": "identity"}},
            "authentication": {"type": "none"},
            **spec,
        },
    }
    if created is not None:
        body["metadata"]["creationTimestamp"] = created
    return with_defaults(body)


def service(name: str, namespace: str = "wallet-bosa", type: str = "ClusterIP", port: int = 8080) -> Manifest:
    spec: Manifest = {"type": type, "ports": [{"name": "http", "port": port}]}
    if type == "ExternalName":
        spec = {"type": type, "externalName": "example.com"}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def changed(body: Manifest, **metadata: Any) -> Manifest:
    result = copy.deepcopy(body)
    result["metadata"].update(metadata)
    return result
