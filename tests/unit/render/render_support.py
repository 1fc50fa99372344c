"""Helpers of the renderer tests: sample resources, schema validation and the Pod Security checker."""

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate

from greenshift.config import PlatformConfig, parse_platform_config

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
SCHEMAS = ROOT / "tests" / "data" / "schemas"
K8S_VERSION = kubernetes_validate.latest_version()

CRD_SCHEMAS = {
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): "httproute-gateway.networking.k8s.io-v1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor-monitoring.coreos.com-v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule-monitoring.coreos.com-v1.json",
    ("cert-manager.io/v1", "Certificate"): "certificate-cert-manager.io-v1.json",
    ("route.openshift.io/v1", "Route"): "route-route.openshift.io-v1.json",
}

Manifest = dict[str, Any]


def tenant(**spec: Any) -> Manifest:
    body: Manifest = {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "WalletTenant",
        "metadata": {"name": "bosa"},
        "spec": {
            "displayName": "FPS Policy and Support",
            "agency": "BOSA",
            "owners": [{"kind": "Group", "name": "bosa-admins"}],
        },
    }
    body["spec"].update(spec)
    return body


def source(**spec: Any) -> Manifest:
    body: Manifest = {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "DocumentSource",
        "metadata": {"name": "identity", "namespace": "wallet-bosa"},
        "spec": {
            "documentType": "identity",
            "displayName": "Identity",
            "upstream": {"url": "https://fsb.example.be/identity/v1"},
            "connector": {"image": "registry.greenshift.local/certified/connector-identity:1.0.0"},
        },
    }
    body["spec"].update(spec)
    return body


def route(**spec: Any) -> Manifest:
    body: Manifest = {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "GatewayRoute",
        "metadata": {"name": "identity-v1", "namespace": "wallet-bosa"},
        "spec": {
            "host": "identity.wallet.example.be",
            "pathPrefix": "/identity/v1",
            "backend": {"documentSource": {"name": "identity"}},
            "authentication": {"type": "none"},
        },
    }
    body["spec"].update(spec)
    return body


def live(resource: Manifest, uid: str = "0b6c3f4e-1111-4a5b-9c8d-000000000001") -> Manifest:
    """The resource as the API server returns it: with a uid."""
    result = copy.deepcopy(resource)
    result["metadata"]["uid"] = uid
    return result


def config(**sections: Any) -> PlatformConfig:
    """A PlatformConfig from keyword sections, through the real parser."""
    return parse_platform_config({"kind": "PlatformConfig", **sections})


@functools.cache
def _crd_schema(filename: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / filename).read_text(encoding="utf-8"))
    return schema


def validate_object(obj: Manifest) -> None:
    """Raise if ``obj`` is not valid: core kinds against Kubernetes (strict), others against their CRD."""
    key = (obj["apiVersion"], obj["kind"])
    if key in CRD_SCHEMAS:
        jsonschema.validate(obj, _crd_schema(CRD_SCHEMAS[key]), cls=jsonschema.Draft202012Validator)
    else:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


# Pod Security Standards, "restricted" profile (which includes "baseline"):
# https://kubernetes.io/docs/concepts/security/pod-security-standards/
_RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
_SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}


def restricted_violations(pod: Manifest) -> list[str]:
    """Every control of the Pod Security "restricted" profile that the pod spec breaks."""
    problems: list[str] = []
    pod_sc = pod.get("securityContext") or {}
    containers = [
        *pod.get("initContainers", []),
        *pod.get("containers", []),
        *pod.get("ephemeralContainers", []),
    ]
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            problems.append(f"host namespaces: {field}")
    if (pod_sc.get("windowsOptions") or {}).get("hostProcess"):
        problems.append("HostProcess: pod")
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if "hostPath" in kinds:
            problems.append(f"hostPath volume {volume['name']}")
        if not kinds <= _RESTRICTED_VOLUMES:
            problems.append(f"volume type {sorted(kinds)} of {volume['name']}")
    for sysctl in pod_sc.get("sysctls", []):
        if sysctl["name"] not in _SAFE_SYSCTLS:
            problems.append(f"sysctl {sysctl['name']}")
    problems += _selinux(pod_sc, "pod")
    problems += _apparmor(pod_sc, "pod")
    if (pod_sc.get("seccompProfile") or {}).get("type") == "Unconfined":
        problems.append("seccomp: pod Unconfined")
    if pod_sc.get("runAsUser") == 0:
        problems.append("runAsUser: pod 0")
    for container in containers:
        name = container["name"]
        sc = container.get("securityContext") or {}
        if sc.get("privileged"):
            problems.append(f"privileged: {name}")
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            problems.append(f"HostProcess: {name}")
        for port in container.get("ports", []):
            if port.get("hostPort"):
                problems.append(f"hostPort: {name}")
        problems += _selinux(sc, name)
        problems += _apparmor(sc, name)
        if sc.get("procMount", "Default") != "Default":
            problems.append(f"procMount: {name}")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"allowPrivilegeEscalation not false: {name}")
        if not (
            sc.get("runAsNonRoot") is True
            or (pod_sc.get("runAsNonRoot") is True and "runAsNonRoot" not in sc)
        ):
            problems.append(f"runAsNonRoot not true: {name}")
        if sc.get("runAsUser") == 0:
            problems.append(f"runAsUser 0: {name}")
        seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"seccompProfile {seccomp}: {name}")
        capabilities = sc.get("capabilities") or {}
        if "ALL" not in capabilities.get("drop", []):
            problems.append(f"capabilities do not drop ALL: {name}")
        if set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"capabilities added: {name}")
    return problems


def _selinux(sc: Manifest, where: str) -> list[str]:
    options = sc.get("seLinuxOptions") or {}
    problems = []
    if options.get("type", "") not in (
        "",
        "container_t",
        "container_init_t",
        "container_kvm_t",
        "container_engine_t",
    ):
        problems.append(f"SELinux type: {where}")
    if options.get("user") or options.get("role"):
        problems.append(f"SELinux user/role: {where}")
    return problems


def _apparmor(sc: Manifest, where: str) -> list[str]:
    profile = (sc.get("appArmorProfile") or {}).get("type")
    return [f"AppArmor Unconfined: {where}"] if profile == "Unconfined" else []


def pod_specs(objects: list[Manifest]) -> list[Manifest]:
    """The pod specs of every workload among ``objects``."""
    return [obj["spec"]["template"]["spec"] for obj in objects if obj["kind"] == "Deployment"]
