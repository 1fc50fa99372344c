"""Helpers of the admission tests: samples, and a Context over the operator's stores holding them."""

import copy
from collections.abc import Iterable
from typing import Any

import kopf

from greenshift.config import PlatformConfig, parse_platform_config
from greenshift.controllers.context import Context
from greenshift.controllers.indexes import ClusterView
from greenshift.kube import KubeClient
from greenshift.runtime.events import EventPoster
from greenshift.schemas import with_defaults

Manifest = dict[str, Any]


def build_view(objects: Iterable[Manifest]) -> ClusterView:
    """The operator's stores when ``objects`` exist in the cluster."""
    view = ClusterView()
    for obj in objects:
        store = view.services if obj["kind"] == "Service" else view.resources[obj["kind"]]
        store.upsert(obj)
    return view


def context(objects: Iterable[Manifest] = (), config: PlatformConfig | None = None) -> Context:
    """The operator's Context over the given cluster objects (its client is never called)."""
    client = KubeClient(kopf.ConnectionInfo(server="http://127.0.0.1:9"))
    return Context(
        client=client,
        config=config or parse_platform_config({}),
        settings=kopf.OperatorSettings(),
        view=build_view(objects),
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
