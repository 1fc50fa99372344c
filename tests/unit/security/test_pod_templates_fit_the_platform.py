"""Every pod template the operator writes or ships fits the platform's pod security.

- ``platform: openshift``: OpenShift's default SCC, ``restricted-v2`` (its rules below, as data).
- ``platform: kubernetes`` (and OpenShift too, whose tenant namespaces also enforce it): the Pod
  Security Standard ``restricted`` (the checker of tests/unit/render/render_support.py).

The templates are found generically (any object with a pod template, or a Pod), so a workload
kind added later is checked without touching this file.
"""

import copy
import functools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from greenshift.commands.install import install_manifests
from greenshift.config import PlatformConfig, parse_platform_config
from greenshift.render import render_document_source, render_gateway_route, render_tenant

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "unit" / "render"))
from render_support import live, restricted_violations, route, source, tenant  # noqa: E402

Manifest = dict[str, Any]

# OpenShift's restricted-v2 SecurityContextConstraints (OpenShift 4.11 and later: the SCC that the
# pods of every authenticated user get), as published: `oc get scc restricted-v2 -o yaml`, and
# the OpenShift Container Platform documentation, "Managing security context constraints",
# "Default security context constraints". Only the fields that judge a pod template. The ranges
# (`openshift.io/sa.scc.uid-range`, `.supplemental-groups`, `.mcs`) are annotations the cluster
# puts on each namespace when it is created: a template cannot know them, so a UID, fsGroup or
# SELinux level it fixes can only be wrong ("must be in the ranges: [1000650000, 1000659999]").
RESTRICTED_V2: dict[str, Any] = {
    "allowHostDirVolumePlugin": False,
    "allowHostIPC": False,
    "allowHostNetwork": False,
    "allowHostPID": False,
    "allowHostPorts": False,
    "allowPrivilegeEscalation": False,
    "allowPrivilegedContainer": False,
    "allowedCapabilities": ["NET_BIND_SERVICE"],
    "requiredDropCapabilities": ["ALL"],
    "runAsUser": {"type": "MustRunAsRange"},
    "fsGroup": {"type": "MustRunAs"},
    "seLinuxContext": {"type": "MustRunAs"},
    "supplementalGroups": {"type": "RunAsAny"},
    "seccompProfiles": ["runtime/default"],
    "readOnlyRootFilesystem": False,
    "volumes": [
        "configMap",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    ],
}
SECCOMP_TYPES = {"runtime/default": "RuntimeDefault", "localhost/*": "Localhost", "unconfined": "Unconfined"}


def scc_violations(pod: Manifest, scc: dict[str, Any] = RESTRICTED_V2) -> list[str]:
    """Every rule of ``scc`` that the pod spec breaks, judged before the SCC's assignments."""
    problems: list[str] = []
    pod_sc = pod.get("securityContext") or {}
    containers = [
        *pod.get("initContainers", []),
        *pod.get("containers", []),
        *pod.get("ephemeralContainers", []),
    ]
    for field, allowed in (
        ("hostNetwork", "allowHostNetwork"),
        ("hostPID", "allowHostPID"),
        ("hostIPC", "allowHostIPC"),
    ):
        if pod.get(field) and not scc[allowed]:
            problems.append(f"{field}: not allowed")
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if "hostPath" in kinds and not scc["allowHostDirVolumePlugin"]:
            problems.append(f"volume {volume['name']}: hostPath")
        elif not kinds <= set(scc["volumes"]):
            problems.append(f"volume {volume['name']}: type {sorted(kinds)} not allowed")
    fixed = [("pod", pod_sc), *((c["name"], c.get("securityContext") or {}) for c in containers)]
    for where, sc in fixed:
        if scc["runAsUser"]["type"] in ("MustRunAsRange", "MustRunAs") and "runAsUser" in sc:
            problems.append(f"{where}: runAsUser {sc['runAsUser']} fixed (MustRunAsRange assigns it)")
        # The SCC has no runAsGroup strategy; a GID fixed beside the assigned UID is the same mistake.
        if "runAsGroup" in sc:
            problems.append(f"{where}: runAsGroup {sc['runAsGroup']} fixed")
        if scc["seLinuxContext"]["type"] == "MustRunAs" and sc.get("seLinuxOptions"):
            problems.append(f"{where}: seLinuxOptions fixed (MustRunAs assigns the namespace's level)")
        seccomp = (sc.get("seccompProfile") or {}).get("type")
        if seccomp is not None and seccomp not in {SECCOMP_TYPES[p] for p in scc["seccompProfiles"]}:
            problems.append(f"{where}: seccompProfile {seccomp} not allowed")
    if scc["fsGroup"]["type"] == "MustRunAs" and "fsGroup" in pod_sc:
        problems.append(f"pod: fsGroup {pod_sc['fsGroup']} fixed (MustRunAs assigns it)")
    if scc["supplementalGroups"]["type"] != "RunAsAny" and pod_sc.get("supplementalGroups"):
        problems.append("pod: supplementalGroups fixed")
    for container in containers:
        name = container["name"]
        sc = container.get("securityContext") or {}
        if sc.get("privileged") and not scc["allowPrivilegedContainer"]:
            problems.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False and not scc["allowPrivilegeEscalation"]:
            problems.append(f"{name}: allowPrivilegeEscalation not false")
        capabilities = sc.get("capabilities") or {}
        for required in scc["requiredDropCapabilities"]:
            if required not in capabilities.get("drop", []):
                problems.append(f"{name}: does not drop {required}")
        extra = set(capabilities.get("add", [])) - set(scc["allowedCapabilities"])
        if extra:
            problems.append(f"{name}: adds {sorted(extra)}")
        if scc["readOnlyRootFilesystem"] and not sc.get("readOnlyRootFilesystem"):
            problems.append(f"{name}: root filesystem not read-only")
        for port in container.get("ports", []):
            if port.get("hostPort") and not scc["allowHostPorts"]:
                problems.append(f"{name}: hostPort {port['hostPort']}")
    return problems


def pod_templates(objects: list[Manifest]) -> Iterator[tuple[str, Manifest]]:
    """(Kind/name, pod spec) of every object that is a Pod or holds a pod template."""
    for obj in objects:
        spec = obj.get("spec") or {}
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] == "Pod":
            yield name, spec
        elif "containers" in ((spec.get("template") or {}).get("spec") or {}):
            yield name, spec["template"]["spec"]
        elif "containers" in (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get(
            "spec", {}
        ):
            yield name, spec["jobTemplate"]["spec"]["template"]["spec"]


IMAGE = "registry.greenshift.local/certified/c:1"


def sample_sources() -> list[Manifest]:
    """Every shape of connector pod: plain, scaled to zero, autoscaled, with cache, credentials, resources."""
    return [
        source(),
        source(connector={"image": IMAGE, "replicas": 0}),
        source(connector={"image": IMAGE, "replicas": 1}, cache={"size": "1Gi"}),
        source(connector={"image": IMAGE, "autoscaling": {"minReplicas": 2, "maxReplicas": 6}}),
        source(
            cache={"size": "2Gi", "storageClassName": "fast", "retainOnDelete": False},
            upstream={"url": "https://x.example.be", "credentialsSecretRef": {"name": "creds"}},
            connector={"image": IMAGE, "resources": {"requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}}},
        ),
    ]


def sample_tenants() -> list[Manifest]:
    return [tenant(), tenant(tier="critical"), tenant(suspended=True)]


def everything_rendered(config: PlatformConfig) -> list[Manifest]:
    objects: list[Manifest] = []
    for ten in sample_tenants():
        owner = live(ten)
        objects += render_tenant(owner, config)
        for src in sample_sources():
            objects += render_document_source(live(src), owner, config)
        objects += render_gateway_route(live(route()), owner, config)
    return objects


def shipped(platform: str) -> list[Manifest]:
    return [
        obj
        for certificates in ("cert-manager", "self-managed")
        for obj in install_manifests(platform=platform, certificates=certificates, crds=False)
    ]


def configs(platform: str) -> list[PlatformConfig]:
    """The platform with and without every add-on (they change which children exist)."""
    return [
        parse_platform_config({"platform": platform}),
        parse_platform_config(
            {
                "platform": platform,
                "monitoring": {"prometheusOperator": True},
                "certificates": {"certManager": True},
                "gateway": {"flavor": "openshift-route" if platform == "openshift" else "ingress"},
            }
        ),
    ]


@functools.cache
def _templates(platform: str) -> tuple[tuple[str, Manifest], ...]:
    found = [t for config in configs(platform) for t in pod_templates(everything_rendered(config))]
    found += list(pod_templates(shipped(platform)))
    return tuple(found)


def templates(platform: str) -> list[tuple[str, Manifest]]:
    return copy.deepcopy(list(_templates(platform)))


def test_the_samples_cover_every_workload_shape() -> None:
    found = templates("openshift")
    names = {name for name, _ in found}
    assert names == {"Deployment/identity", "Deployment/greenshift-operator"}
    volumes = {
        kind for _, pod in found for volume in pod.get("volumes", []) for kind in set(volume) - {"name"}
    }
    assert volumes == {"configMap", "emptyDir", "secret", "persistentVolumeClaim"}
    assert any("affinity" in pod for _, pod in found)


@pytest.mark.parametrize("index", range(len(templates("openshift"))))
def test_openshift_templates_fit_restricted_v2(index: int) -> None:
    name, pod = templates("openshift")[index]
    assert scc_violations(pod) == [], name


@pytest.mark.parametrize("platform", ["kubernetes", "openshift"])
def test_templates_fit_pod_security_restricted(platform: str) -> None:
    for name, pod in templates(platform):
        assert restricted_violations(pod) == [], (platform, name)


@pytest.mark.parametrize("platform", ["kubernetes", "openshift"])
def test_what_restricted_v2_keeps_is_still_set(platform: str) -> None:
    """No fixed IDs on OpenShift, but never less: non-root, RuntimeDefault, no escalation, drop ALL."""
    for name, pod in templates(platform):
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert sc["readOnlyRootFilesystem"] is True, name


def test_kubernetes_templates_fix_ids_which_restricted_v2_refuses() -> None:
    """The checker bites: the Kubernetes flavor's fixed IDs are exactly what the SCC refuses."""
    for name, pod in templates("kubernetes"):
        problems = scc_violations(pod)
        assert any("runAsUser" in p for p in problems), name
        assert any("fsGroup" in p for p in problems), name


def _pod(pod_change: Manifest | None = None, container_change: Manifest | None = None) -> Manifest:
    """A pod that fits restricted-v2, with one change to the pod or its container."""
    container: Manifest = {
        "name": "c",
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    }
    container.update(container_change or {})
    pod: Manifest = {"containers": [container], "securityContext": {"runAsNonRoot": True}}
    pod.update(pod_change or {})
    return pod


def test_a_pod_that_fits_passes() -> None:
    assert scc_violations(_pod()) == []
    assert scc_violations(_pod({"securityContext": {"supplementalGroups": [5]}})) == []  # RunAsAny
    assert scc_violations(_pod(container_change={"securityContext": {
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    }})) == []  # fmt: skip


@pytest.mark.parametrize(
    ("pod_change", "container_change", "expected"),
    [
        ({"hostNetwork": True}, None, "hostNetwork: not allowed"),
        ({"hostPID": True}, None, "hostPID: not allowed"),
        ({"hostIPC": True}, None, "hostIPC: not allowed"),
        ({"volumes": [{"name": "h", "hostPath": {"path": "/"}}]}, None, "volume h: hostPath"),
        ({"volumes": [{"name": "n", "nfs": {"server": "s", "path": "/"}}]}, None, "volume n: type ['nfs']"),
        ({"volumes": [{"name": "v", "csi": {"driver": "d"}}]}, None, "volume v: type ['csi']"),
        ({"securityContext": {"runAsUser": 1000}}, None, "pod: runAsUser 1000 fixed"),
        ({"securityContext": {"fsGroup": 1000}}, None, "pod: fsGroup 1000 fixed"),
        ({"securityContext": {"seLinuxOptions": {"level": "s0:c1,c2"}}}, None, "pod: seLinuxOptions fixed"),
        (
            {"securityContext": {"seccompProfile": {"type": "Unconfined"}}},
            None,
            "pod: seccompProfile Unconfined",
        ),
        (
            None,
            {"securityContext": {"runAsUser": 7, "capabilities": {"drop": ["ALL"]}}},
            "c: runAsUser 7 fixed",
        ),
        (None, {"securityContext": {"privileged": True}}, "c: privileged"),
        (
            None,
            {"securityContext": {"capabilities": {"drop": ["ALL"]}}},
            "c: allowPrivilegeEscalation not false",
        ),
        (None, {"securityContext": {"allowPrivilegeEscalation": False}}, "c: does not drop ALL"),
        (None, {"ports": [{"containerPort": 80, "hostPort": 80}]}, "c: hostPort 80"),
        (
            None,
            {
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN"]},
                }
            },
            "c: adds ['NET_ADMIN']",
        ),
    ],
)
def test_the_checker_knows_each_rule(
    pod_change: Manifest | None, container_change: Manifest | None, expected: str
) -> None:
    problems = scc_violations(_pod(pod_change, container_change))
    assert any(p.startswith(expected) for p in problems), problems
