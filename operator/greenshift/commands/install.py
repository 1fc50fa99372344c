"""``greenshift install``: print the CRDs and the install manifests, for ``kubectl apply -f -``.

The manifests are ``deploy/`` (a kustomize base, shipped as package data ``greenshift.deploy``),
in the order of its ``kustomization.yaml``; ``--certificates self-managed`` applies what the
component ``deploy/self-managed`` does, ``--platform openshift`` the JSON patches of the component
``deploy/openshift`` (read from it, so kustomize and this command cannot disagree). ``--image``
and ``--namespace`` are structured edits of the parsed objects (never text substitution), so a
value cannot inject YAML. A PlatformConfig with ``logging.flavor: openshift-logging`` adds
``deploy/logging`` (docs/logging.md), in its ``logging.namespace``.
"""

import argparse
import copy
import importlib.resources
import re
import sys
import urllib.parse
from collections.abc import Iterable
from importlib.resources.abc import Traversable
from typing import Any

import yaml

from greenshift.config import ConfigError, PlatformConfig, is_platform_config, parse_platform_config
from greenshift.naming import is_dns_label
from greenshift.schemas import load_crds

Manifest = dict[str, Any]

DEFAULT_NAMESPACE = "greenshift-system"
SERVICE = "greenshift-operator"
DEPLOYMENT = "greenshift-operator"
WEBHOOK_CONFIGURATION = "greenshift-webhook"
CERTIFICATE = "greenshift-webhook"
CA_INJECTION = "cert-manager.io/inject-ca-from"
CERT_DIR_ARG = "--webhook-cert-dir="
WEBHOOK_HOST_ARG = "--webhook-host="
TLS_VOLUME = "webhook-tls"
SERVICE_ACCOUNT = "greenshift-operator"
PLATFORM_CONFIG_MAP = "greenshift-platform-config"
PLATFORM_CONFIG_KEY = "platform-config.yaml"
POLICY_PARAMS = "greenshift-admission-policy"
LOKISTACK_BINDING = "greenshift-log-collector-logs-writer"
NETWORK_POLICY = "greenshift-operator"
"""deploy/logging's binding that only a LokiStack output needs."""
_IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$")


class InstallError(ValueError):
    pass


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image", metavar="IMAGE", help="the operator image (default: the manifests')")
    parser.add_argument(
        "--namespace",
        "-n",
        default=DEFAULT_NAMESPACE,
        metavar="NS",
        help=f"the operator's namespace (default {DEFAULT_NAMESPACE})",
    )
    parser.add_argument(
        "--certificates",
        choices=("cert-manager", "self-managed"),
        default="cert-manager",
        help="who makes the webhook's certificate (default cert-manager; see docs/install.md)",
    )
    parser.add_argument(
        "--platform",
        choices=("kubernetes", "openshift"),
        default="kubernetes",
        help="openshift: SCC-assigned user and group IDs, OpenShift DNS, platform: openshift in the "
        "PlatformConfig (default kubernetes; see docs/openshift.md)",
    )
    parser.add_argument(
        "--platform-config",
        metavar="FILE",
        help="the PlatformConfig to install (default: the manifests' defaults); the admission "
        "policies' certified registries are rendered from it (see docs/security.md)",
    )
    parser.add_argument("--no-crds", action="store_true", help="leave the CRDs out")


def run(args: argparse.Namespace) -> int:
    try:
        platform_config = None
        if args.platform_config:
            try:
                with open(args.platform_config, encoding="utf-8") as file:
                    platform_config = file.read()
            except OSError as exc:
                raise InstallError(f"--platform-config: cannot read {args.platform_config}: {exc}") from None
        objects = install_manifests(
            image=args.image,
            namespace=args.namespace,
            certificates=args.certificates,
            platform=args.platform,
            crds=not args.no_crds,
            platform_config=platform_config,
        )
    except InstallError as exc:
        print(f"greenshift install: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(yaml.dump_all(objects, Dumper=_Dumper, sort_keys=False, explicit_start=True))
    return 0


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the ConfigMap's PlatformConfig) as readable literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def install_manifests(
    *,
    image: str | None = None,
    namespace: str = DEFAULT_NAMESPACE,
    certificates: str = "cert-manager",
    platform: str = "kubernetes",
    crds: bool = True,
    platform_config: str | None = None,
) -> list[Manifest]:
    """The CRDs, then every object of ``deploy/`` (edited as asked), in apply order.

    ``platform_config``: the text of a PlatformConfig to ship instead of the manifests' (it must
    parse). Either way the admission policies' certified registries are those of the
    PlatformConfig shipped.
    """
    if not is_dns_label(namespace):
        raise InstallError(f"--namespace {namespace!r} is not a DNS-1123 label (lowercase, digits, '-')")
    if image is not None and (not _IMAGE.match(image) or len(image) > 512):
        raise InstallError(f"--image {image!r} is not a container image reference such as registry/repo:tag")
    objects = base_manifests()
    if certificates == "self-managed":
        objects = self_managed(objects)
    elif certificates != "cert-manager":
        raise InstallError(f"--certificates {certificates!r}: expected cert-manager or self-managed")
    if platform == "openshift":
        objects = openshift(objects)
    elif platform != "kubernetes":
        raise InstallError(f"--platform {platform!r}: expected kubernetes or openshift")
    if platform_config is not None:
        objects = [with_platform_config(obj, platform_config) for obj in objects]
    objects = with_policy_registries(objects)
    objects = [retarget(obj, namespace) for obj in objects]
    if image is not None:
        objects = [with_image(obj, image) for obj in objects]
    shipped = shipped_platform_config(objects)
    if shipped is not None:
        objects = [with_prometheus_egress(obj, shipped) for obj in objects]
        objects += logging_manifests(shipped, namespace)
    return [*(copy.deepcopy(crd) for crd in load_crds() if crds), *objects]


def _deploy() -> Traversable:
    return importlib.resources.files("greenshift.deploy")


def _documents(entry: Traversable) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(entry.read_text(encoding="utf-8")) if doc]


def kustomization(folder: Traversable) -> Manifest:
    result: Manifest = yaml.safe_load(folder.joinpath("kustomization.yaml").read_text(encoding="utf-8"))
    return result


def base_manifests() -> list[Manifest]:
    """Every object of the kustomize base, in the order of its ``resources``."""
    folder = _deploy()
    return [doc for name in kustomization(folder)["resources"] for doc in _documents(folder.joinpath(name))]


def self_managed(objects: Iterable[Manifest]) -> list[Manifest]:
    """What the component ``deploy/self-managed`` does: no cert-manager; the operator self-signs."""
    folder = _deploy().joinpath("self-managed")
    result: list[Manifest] = []
    for obj in objects:
        if obj["apiVersion"].startswith("cert-manager.io/"):
            continue
        obj = copy.deepcopy(obj)
        if obj["kind"] == "ValidatingWebhookConfiguration":
            annotations = obj["metadata"].get("annotations") or {}
            annotations.pop(CA_INJECTION, None)
            if not annotations:
                obj["metadata"].pop("annotations", None)
        elif obj["kind"] == "Deployment":
            pod = obj["spec"]["template"]["spec"]
            container = pod["containers"][0]
            container["args"] = [
                f"--webhook-configuration={WEBHOOK_CONFIGURATION}" if arg.startswith(CERT_DIR_ARG) else arg
                for arg in container["args"]
            ]
            container["volumeMounts"] = [m for m in container["volumeMounts"] if m["name"] != TLS_VOLUME]
            pod["volumes"] = [v for v in pod["volumes"] if v["name"] != TLS_VOLUME]
        result.append(obj)
    for name in kustomization(folder)["resources"]:
        result.extend(_documents(folder.joinpath(name)))
    return result


def openshift(objects: Iterable[Manifest]) -> list[Manifest]:
    """What the component ``deploy/openshift`` does: its JSON patches, applied to their targets."""
    patches = kustomization(_deploy().joinpath("openshift"))["patches"]
    result = []
    for obj in objects:
        obj = copy.deepcopy(obj)
        for entry in patches:
            target = entry["target"]
            if (obj["kind"], obj["metadata"]["name"]) == (target["kind"], target["name"]):
                for operation in yaml.safe_load(entry["patch"]):
                    json_patch(obj, operation)
        result.append(obj)
    return result


def json_patch(obj: Manifest, operation: Manifest) -> None:
    """One RFC 6902 operation (``test``, ``add``, ``replace``, ``remove``) on ``obj``, in place."""
    *parents, last = [
        part.replace("~1", "/").replace("~0", "~") for part in str(operation["path"]).split("/")[1:]
    ]
    node: Any = obj
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) and last != "-" else last
    op = operation["op"]
    if op == "test":
        if node[key] != operation["value"]:
            raise InstallError(f"deploy/openshift: {operation['path']} is not {operation['value']!r}")
    elif op == "remove":
        del node[key]
    elif op == "replace":
        node[key] = copy.deepcopy(operation["value"])
    elif op == "add":
        if isinstance(node, list):
            node.insert(len(node) if key == "-" else key, copy.deepcopy(operation["value"]))
        else:
            node[key] = copy.deepcopy(operation["value"])
    else:
        raise InstallError(f"deploy/openshift: unsupported patch operation {op!r}")


def retarget(obj: Manifest, namespace: str) -> Manifest:
    """The object for an operator living in ``namespace``: every place that names it."""
    obj = copy.deepcopy(obj)
    meta = obj["metadata"]
    kind = obj["kind"]
    service_dns = f"{SERVICE}.{namespace}.svc"
    if kind == "Namespace":
        meta["name"] = namespace
    elif "namespace" in meta:
        meta["namespace"] = namespace
    if kind in ("ClusterRoleBinding", "RoleBinding"):
        for subject in obj["subjects"]:
            if subject["kind"] == "ServiceAccount":
                subject["namespace"] = namespace
    elif kind == "ValidatingWebhookConfiguration":
        for webhook in obj["webhooks"]:
            webhook["clientConfig"]["service"]["namespace"] = namespace
        annotations = meta.get("annotations") or {}
        if CA_INJECTION in annotations:
            annotations[CA_INJECTION] = f"{namespace}/{CERTIFICATE}"
    elif kind == "Certificate":
        obj["spec"]["dnsNames"] = [service_dns, f"{service_dns}.cluster.local"]
    elif kind == "ValidatingAdmissionPolicyBinding" and "paramRef" in obj["spec"]:
        obj["spec"]["paramRef"]["namespace"] = namespace
    elif kind == "ConfigMap" and meta["name"] == POLICY_PARAMS:
        obj["data"]["operatorServiceAccount"] = f"system:serviceaccount:{namespace}:{SERVICE_ACCOUNT}"
    elif kind == "Deployment":
        container = obj["spec"]["template"]["spec"]["containers"][0]
        container["args"] = [
            f"{WEBHOOK_HOST_ARG}{service_dns}" if arg.startswith(WEBHOOK_HOST_ARG) else arg
            for arg in container["args"]
        ]
    return obj


def with_image(obj: Manifest, image: str) -> Manifest:
    if obj["kind"] != "Deployment" or obj["metadata"]["name"] != DEPLOYMENT:
        return obj
    obj = copy.deepcopy(obj)
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return obj


def _parsed_platform_config(text: str) -> PlatformConfig:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InstallError(f"the PlatformConfig is not YAML: {exc}") from None
    if not is_platform_config(doc):
        raise InstallError("the PlatformConfig is not a document of kind PlatformConfig")
    try:
        return parse_platform_config(doc)
    except ConfigError as exc:
        raise InstallError(f"the PlatformConfig: {exc}") from None


def with_platform_config(obj: Manifest, text: str) -> Manifest:
    """The PlatformConfig ConfigMap holding ``text`` (checked to parse) instead of the defaults."""
    if obj["kind"] != "ConfigMap" or obj["metadata"]["name"] != PLATFORM_CONFIG_MAP:
        return obj
    _parsed_platform_config(text)
    obj = copy.deepcopy(obj)
    obj["data"][PLATFORM_CONFIG_KEY] = text
    return obj


def shipped_platform_config(objects: Iterable[Manifest]) -> PlatformConfig | None:
    """The PlatformConfig the install ships (its ConfigMap's), None when it ships none."""
    for obj in objects:
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == PLATFORM_CONFIG_MAP:
            return _parsed_platform_config(obj["data"][PLATFORM_CONFIG_KEY])
    return None


def prometheus_port(config: PlatformConfig) -> int | None:
    """The TCP port of ``monitoring.prometheusURL`` (its scheme's default when it names none);
    None without a URL."""
    url = config.monitoring.prometheusURL
    if not url:
        return None
    parsed = urllib.parse.urlsplit(url)
    return parsed.port or (443 if parsed.scheme == "https" else 80)


def with_prometheus_egress(obj: Manifest, config: PlatformConfig) -> Manifest:
    """The operator's NetworkPolicy, with egress to the catalog's Prometheus when its port is not
    one the policy allows already (443, 6443): 9090 for a Prometheus Service, 9091 for
    OpenShift's Thanos querier (docs/catalog.md)."""
    port = prometheus_port(config)
    if obj["kind"] != "NetworkPolicy" or obj["metadata"]["name"] != NETWORK_POLICY or port is None:
        return obj
    allowed = {p.get("port") for rule in obj["spec"].get("egress") or [] for p in rule.get("ports") or []}
    if port in allowed:
        return obj
    obj = copy.deepcopy(obj)
    obj["spec"]["egress"].append({"ports": [{"port": port, "protocol": "TCP"}]})
    return obj


def logging_manifests(config: PlatformConfig, operator_namespace: str) -> list[Manifest]:
    """``deploy/logging`` for a PlatformConfig with centralized logging (none without): the
    operator's Role on forwarders and the collector's ServiceAccount in ``logging.namespace``, the
    collector's ClusterRoleBindings (the LokiStack one only for a LokiStack output), the operator's
    RoleBinding to its account in ``operator_namespace``."""
    logging = config.logging
    if logging.flavor != "openshift-logging":
        return []
    folder = _deploy().joinpath("logging")
    result = []
    for name in kustomization(folder)["resources"]:
        for obj in _documents(folder.joinpath(name)):
            if obj["metadata"]["name"] == LOKISTACK_BINDING and logging.output.type != "lokiStack":
                continue
            if "namespace" in obj["metadata"]:
                obj["metadata"]["namespace"] = logging.namespace
            for subject in obj.get("subjects") or []:
                operator = subject["name"] == SERVICE_ACCOUNT
                subject["namespace"] = operator_namespace if operator else logging.namespace
            result.append(obj)
    return result


def with_policy_registries(objects: list[Manifest]) -> list[Manifest]:
    """The admission policies' parameters with the certified registries of the PlatformConfig shipped."""
    shipped = [
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == PLATFORM_CONFIG_MAP
    ]
    if not shipped:
        return objects
    registries = _parsed_platform_config(shipped[0]["data"][PLATFORM_CONFIG_KEY]).images.certifiedRegistries
    for registry in registries:
        if "," in registry or not registry.strip():
            raise InstallError(f"images.certifiedRegistries: {registry!r} is not a registry prefix")
    result = []
    for obj in objects:
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == POLICY_PARAMS:
            obj = copy.deepcopy(obj)
            obj["data"]["certifiedRegistries"] = ",".join(registries)
        result.append(obj)
    return result
