"""Helpers of the renderer tests: sample resources, schema validation and the Pod Security checker.

Also used by tests/integration/realserver/test_addon_schemas.py, which sends the children of the
samples below to a real API server with the add-ons' published CRDs installed.
"""

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate

from greenshift.config import PlatformConfig, parse_platform_config
from greenshift.render import render_document_source, render_gateway_route, render_tenant
from greenshift.render.logging import logged_tenant, render_log_forwarder

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
K8S_VERSION = kubernetes_validate.latest_version()
FLAVORS = ["ingress", "gateway-api", "openshift-route"]

# The kinds whose schemas come from the add-ons' CRDs: kubernetes-validate does not know them, and
# the judge of them is a real API server with the published CRDs installed
# (tests/integration/realserver/test_addon_schemas.py).
ADDON_KINDS = frozenset(
    {
        ("gateway.networking.k8s.io/v1", "HTTPRoute"),
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("monitoring.coreos.com/v1", "PrometheusRule"),
        ("cert-manager.io/v1", "Certificate"),
        ("route.openshift.io/v1", "Route"),
        ("observability.openshift.io/v1", "ClusterLogForwarder"),
    }
)
LOGGING_CA = "-----BEGIN CERTIFICATE-----\nMIIBsample\n-----END CERTIFICATE-----\n"

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


def addons_config(flavor: str, *, addons: bool = True, platform: str = "kubernetes") -> PlatformConfig:
    """The platform configuration of ``flavor``, with cert-manager, the Prometheus Operator and
    OpenShift Logging (a LokiStack, the platform's CA) on or off."""
    return config(
        platform=platform,
        gateway={"flavor": flavor},
        monitoring={"prometheusOperator": addons},
        certificates={"certManager": addons},
        logging={
            "flavor": "openshift-logging" if addons else "none",
            "output": {"tls": {"caBundle": LOGGING_CA}},
        },
    )


def sample_tenants() -> list[Manifest]:
    """Tenants over what changes their children and their sources' and routes': tier, suspension."""
    return [
        tenant(),
        tenant(
            tier="critical", viewers=[{"kind": "User", "name": "v"}], egress={"allowedCIDRs": ["10.0.0.0/8"]}
        ),
        tenant(suspended=True),
    ]


def sample_sources() -> list[Manifest]:
    """Sources over what changes their children: replicas, autoscaling, cache, SOAP, resources."""
    return [
        source(),
        source(connector={"image": "registry.greenshift.local/certified/c:1", "replicas": 0}),
        source(
            connector={"image": "registry.greenshift.local/certified/c:1", "autoscaling": {"maxReplicas": 4}}
        ),
        source(
            cache={"size": "2Gi", "storageClassName": "fast", "retainOnDelete": False},
            upstream={
                "url": "https://x.example.be",
                "protocol": "SOAP",
                "soapAction": "urn:a",
                "credentialsSecretRef": {"name": "creds"},
            },
            connector={
                "image": "registry.greenshift.local/certified/c@sha256:" + "a" * 64,
                "resources": {"requests": {"cpu": "100m", "memory": 134217728}, "limits": {"memory": "1Gi"}},
            },
        ),
    ]


def sample_routes() -> list[Manifest]:
    """Routes over what changes their children: TLS, rate limits, backends, authentication, protocol."""
    return [
        route(),
        route(tls={"secretName": "wallet-tls"}, rateLimit={"requestsPerMinute": 60, "burst": 10}),
        route(
            tls={"issuerRef": {"name": "acme", "kind": "ClusterIssuer"}},
            backend={"service": {"name": "verifier", "port": 8443}},
            authentication={"type": "oidc", "oidc": {"issuer": "https://idp.example.be", "audience": "w"}},
        ),
        route(authentication={"type": "mtls"}, protocol="SOAP", timeoutSeconds=300),
    ]


def render_samples(cfg: PlatformConfig) -> list[Manifest]:
    """The children of every sample tenant, source and route (as live objects, with a uid) under
    ``cfg``, and the shared log forwarder of the sample tenants (with logging on)."""
    objects: list[Manifest] = render_log_forwarder([logged_tenant(t) for t in sample_tenants()], cfg)
    for ten in sample_tenants():
        owner = live(ten)
        objects += render_tenant(owner, cfg)
        for src in sample_sources():
            objects += render_document_source(live(src), owner, cfg)
        for rt in sample_routes():
            objects += render_gateway_route(live(rt), owner, cfg)
    return objects


def validate_object(obj: Manifest) -> None:
    """Raise if ``obj``, of a built-in kind, is not valid against Kubernetes' schemas (strict).

    Offline, so it runs without an API server; the add-on kinds (``ADDON_KINDS``) are not known
    here and are left to the real server.
    """
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def builtin_objects(objects: list[Manifest]) -> list[Manifest]:
    """``objects`` without those of the add-on kinds."""
    return [obj for obj in objects if (obj["apiVersion"], obj["kind"]) not in ADDON_KINDS]


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
