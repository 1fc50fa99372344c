"""Resource types known to the server, and the discovery documents that describe them.

Built-in resources are pre-registered; custom resources appear when their
CustomResourceDefinition is written and disappear when it is deleted.
"""

import dataclasses
from typing import Any

Obj = dict[str, Any]

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
STATUS_VERBS = ("get", "patch", "update")
CRD_GROUP = "apiextensions.k8s.io"


@dataclasses.dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status: bool = False  # has a status subresource
    schema: Obj | None = dataclasses.field(default=None, compare=False)  # openAPIV3Schema of a CRD version
    singular: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> tuple[str, str]:
        """Where objects are stored: all versions of a resource share the same objects."""
        return self.group, self.plural

    @property
    def name(self) -> str:
        """The name as kubectl spells it (``deployments.apps``), used in messages and request accounting."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def is_crd(self) -> bool:
        return self.key == (CRD_GROUP, "customresourcedefinitions")

    def discovery(self) -> list[Obj]:
        main: Obj = {
            "name": self.plural,
            "singularName": self.singular or self.kind.lower(),
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(VERBS),
        }
        if self.short_names:
            main["shortNames"] = list(self.short_names)
        if self.categories:
            main["categories"] = list(self.categories)
        if not self.status:
            return [main]
        status = {
            "name": f"{self.plural}/status",
            "singularName": "",
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(STATUS_VERBS),
        }
        return [main, status]


def _builtin(
    api_version: str, plural: str, kind: str, namespaced: bool = True, *short: str, **kw: Any
) -> ResourceType:
    group, _, version = api_version.rpartition("/")
    return ResourceType(group, version, plural, kind, namespaced, short_names=short, **kw)


BUILTINS: tuple[ResourceType, ...] = (
    _builtin("v1", "namespaces", "Namespace", False, "ns", status=True),
    _builtin("v1", "configmaps", "ConfigMap", True, "cm"),
    _builtin("v1", "secrets", "Secret"),
    _builtin("v1", "services", "Service", True, "svc", status=True, categories=("all",)),
    _builtin("v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, "pvc", status=True),
    _builtin("v1", "resourcequotas", "ResourceQuota", True, "quota", status=True),
    _builtin("v1", "limitranges", "LimitRange", True, "limits"),
    _builtin("v1", "events", "Event", True, "ev"),
    _builtin("v1", "serviceaccounts", "ServiceAccount", True, "sa"),
    _builtin("v1", "pods", "Pod", True, "po", status=True, categories=("all",)),
    _builtin("apps/v1", "deployments", "Deployment", True, "deploy", status=True, categories=("all",)),
    _builtin("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", True, "netpol"),
    _builtin("networking.k8s.io/v1", "ingresses", "Ingress", True, "ing", status=True),
    _builtin("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding"),
    _builtin("rbac.authorization.k8s.io/v1", "roles", "Role"),
    _builtin("rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", False),
    _builtin("rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _builtin(
        "autoscaling/v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, "hpa", status=True
    ),
    _builtin("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", True, "pdb", status=True),
    _builtin("coordination.k8s.io/v1", "leases", "Lease"),
    _builtin(
        f"{CRD_GROUP}/v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        "crd",
        "crds",
        status=True,
    ),
    _builtin("events.k8s.io/v1", "events", "Event", True, "ev"),
    _builtin(
        "admissionregistration.k8s.io/v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        False,
    ),
)


def from_crd(crd: Obj) -> list[ResourceType]:
    """The served versions of a CustomResourceDefinition as resource types."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    return [
        ResourceType(
            group=spec["group"],
            version=version["name"],
            plural=names["plural"],
            kind=names["kind"],
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            status="status" in (version.get("subresources") or {}),
            schema=(version.get("schema") or {}).get("openAPIV3Schema"),
            singular=names.get("singular") or names["kind"].lower(),
        )
        for version in spec.get("versions") or []
        if version.get("served", True)
    ]


class Registry:
    """All resource types by group, version and plural, in registration order."""

    def __init__(self) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._crds: dict[str, list[ResourceType]] = {}  # CRD name -> its resource types
        for rt in BUILTINS:
            self._types[rt.group, rt.version, rt.plural] = rt

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def register_crd(self, crd: Obj) -> None:
        self.unregister_crd(crd["metadata"]["name"])
        types = from_crd(crd)
        for rt in types:
            self._types[rt.group, rt.version, rt.plural] = rt
        self._crds[crd["metadata"]["name"]] = types

    def unregister_crd(self, name: str) -> list[ResourceType]:
        types = self._crds.pop(name, [])
        for rt in types:
            self._types.pop((rt.group, rt.version, rt.plural), None)
        return types

    def _versions(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for group, version, _ in self._types:
            versions = groups.setdefault(group, [])
            if version not in versions:
                versions.append(version)
        return groups

    # Discovery documents, shaped as kubectl and kopf read them.

    def api_versions(self) -> Obj:
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}

    def api_group(self, group: str) -> Obj | None:
        versions = self._versions().get(group)
        if not group or versions is None:
            return None
        entries = [{"groupVersion": f"{group}/{version}", "version": version} for version in versions]
        return {
            "kind": "APIGroup",
            "apiVersion": "v1",
            "name": group,
            "versions": entries,
            "preferredVersion": entries[0],
        }

    def api_group_list(self) -> Obj:
        groups = [self.api_group(group) for group in self._versions() if group]
        for group in groups:
            if group is not None:
                del group["kind"], group["apiVersion"]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def api_resource_list(self, group: str, version: str) -> Obj | None:
        types = [rt for (g, v, _), rt in self._types.items() if (g, v) == (group, version)]
        if not types:
            return None
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": [entry for rt in types for entry in rt.discovery()],
        }

    def paths(self) -> list[str]:
        paths = {"/api", "/api/v1", "/apis", "/version"}
        for group, versions in self._versions().items():
            if group:
                paths.add(f"/apis/{group}")
                paths.update(f"/apis/{group}/{version}" for version in versions)
        return sorted(paths)
