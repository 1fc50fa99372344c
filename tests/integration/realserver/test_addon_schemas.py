"""The add-ons' published schemas accept every child the operator writes (issue 13, item 4).

The CRDs of ``GREENSHIFT_ADDON_CRDS`` (Gateway API, cert-manager, the Prometheus Operator and
OpenShift Route, unmodified from upstream) are installed on the real API server once per module.
Every child that the pure renderers (the functions behind ``greenshift render``) make from
``examples/`` and from the render tests' samples, for every gateway flavor, with cert-manager and
the Prometheus Operator on (and off), is then sent as the operator sends it: server-side apply
under the field manager ``greenshift-operator``, forced, with the owner and applied-hash
annotations the operator stamps, here with ``fieldValidation=Strict`` and ``dryRun=All``. The
server must answer with no error and no warning: strict validation makes an unknown or duplicate
field an error, and the tenant namespaces' Pod Security ``warn: restricted`` label makes a pod
template that breaks the profile a warning.

Each test maps the namespaces its children name to namespaces of its own (a random suffix),
creates them by applying the rendered Namespace children for real (their check) and deletes them
at the end; every other child is a dry run, so nothing else is left behind and tests never meet.
The CRDs stay installed: the session's API server is shared, and applying them again is harmless.
"""

import copy
import dataclasses
import http.client
import json
import pathlib
import secrets
import ssl
import sys
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from greenshift.commands.install import install_manifests
from greenshift.config import PlatformConfig, parse_platform_config
from greenshift.constants import FIELD_MANAGER
from greenshift.controllers.children import stamp
from greenshift.controllers.keys import ObjectKey
from greenshift.envtest import OPERATOR, ControlPlane
from greenshift.kube import ref_for, ref_of_kind
from greenshift.kube.resources import ResourceRef
from greenshift.loader import load_documents
from greenshift.render import render_document_source, render_gateway_route, render_resources, render_tenant
from greenshift.render.analytics import render_platform_analytics
from greenshift.render.logging import FORWARDER_NAME

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "unit" / "render"))  # the render tests' samples
from render_support import (  # noqa: E402
    ADDON_KINDS,
    EXAMPLES,
    FLAVORS,
    addons_config,
    render_samples,
    route,
    source,
    tenant,
)

TEMPLATES = ROOT / "templates"
CRDS = ref_of_kind("apiextensions.k8s.io/v1", "CustomResourceDefinition")
NAMESPACES = ref_of_kind("v1", "Namespace")
ISSUERS = ResourceRef("cert-manager.io", "v1", "issuers", "Issuer", True)  # install's, not a child
OWNER_KINDS = {
    "greenshift-tenant": "WalletTenant",
    "greenshift-connector": "DocumentSource",
    "greenshift-route": "GatewayRoute",
}
FLAVOR_KINDS = {
    "ingress": ("networking.k8s.io/v1", "Ingress"),
    "gateway-api": ("gateway.networking.k8s.io/v1", "HTTPRoute"),
    "openshift-route": ("route.openshift.io/v1", "Route"),
}
ALL_FLAVORS_KINDS = {
    ("v1", "Namespace"),
    ("v1", "ResourceQuota"),
    ("v1", "LimitRange"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("v1", "ConfigMap"),
    ("v1", "PersistentVolumeClaim"),
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("cert-manager.io/v1", "Certificate"),
    ("observability.openshift.io/v1", "ClusterLogForwarder"),
}
Manifest = dict[str, Any]


@dataclasses.dataclass
class Answer:
    status: int
    warnings: list[str]
    body: Manifest

    def refusal(self) -> str | None:
        """What the server held against the request: its error, or its warnings."""
        if self.status >= 300:
            return f"{self.status} {self.body.get('reason', '')}: {self.body.get('message', self.body)}"
        if self.warnings:
            return "warnings: " + "; ".join(self.warnings)
        return None


class Server:
    """Plain requests to the real API server, as the operator's user, keeping the warnings."""

    def __init__(self, plane: ControlPlane) -> None:
        self.url = plane.url
        self._headers = {"Authorization": f"Bearer {plane.token(OPERATOR)}", "Accept": "application/json"}
        self._ssl = ssl.create_default_context(cafile=str(plane.ca_path))
        self._connection: http.client.HTTPSConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Answer:
        target = path + (f"?{urllib.parse.urlencode(params)}" if params else "")
        data = None if body is None else json.dumps(body).encode()
        headers = {**self._headers, "Content-Type": content_type}
        for attempt in (1, 2):  # once more on a new connection if the server closed the kept-alive one
            connection = self._connect()
            try:
                connection.request(method, target, body=data, headers=headers)
                response = connection.getresponse()
                text = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionError):
                self.close()
                if attempt == 2:
                    raise
        answer: Manifest = json.loads(text) if text else {}
        return Answer(response.status, response.headers.get_all("Warning") or [], answer)

    def _connect(self) -> http.client.HTTPSConnection:
        if self._connection is None:
            address = urllib.parse.urlsplit(self.url)
            self._connection = http.client.HTTPSConnection(
                address.hostname or "127.0.0.1", address.port, context=self._ssl, timeout=30
            )
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def apply(
        self,
        obj: Manifest,
        *,
        dry_run: bool,
        ref: ResourceRef | None = None,
        manager: str = FIELD_MANAGER,
        strict: bool = True,
    ) -> Answer:
        """Server-side apply, forced, as the operator's KubeClient.apply sends it (JSON is YAML)."""
        ref = ref or ref_for(obj)
        meta = obj["metadata"]
        params = {"fieldManager": manager, "force": "true"}
        if strict:
            params["fieldValidation"] = "Strict"
        if dry_run:
            params["dryRun"] = "All"
        path = ref.path(meta.get("namespace"), meta["name"])
        return self.request("PATCH", path, obj, params=params, content_type="application/apply-patch+yaml")


class Sandbox:
    """The test's own namespaces, standing in for those its children name."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.suffix = secrets.token_hex(3)
        self.names: dict[str, str] = {}

    def name(self, namespace: str) -> str:
        if namespace not in self.names:
            self.names[namespace] = f"{namespace[: 63 - len(self.suffix) - 1]}-{self.suffix}"
        return self.names[namespace]

    def place(self, obj: Manifest) -> Manifest:
        placed = copy.deepcopy(obj)
        meta = placed["metadata"]
        if placed["kind"] == "Namespace":
            meta["name"] = self.name(meta["name"])
        elif meta.get("namespace"):
            meta["namespace"] = self.name(meta["namespace"])
        return placed

    def check(self, children: list[Manifest], **apply: Any) -> list[str]:
        """The refusals of ``children``: Namespaces applied for real, everything else dry-run."""
        placed = [self.place(child) for child in children]
        refusals: list[str] = []
        made: set[str] = set()
        for child in (c for c in placed if c["kind"] == "Namespace"):
            refusals += _refusal(child, self.server.apply(child, dry_run=False, **apply))
            made.add(child["metadata"]["name"])
        for namespace in {c["metadata"].get("namespace") for c in placed} - made - {None}:
            bare = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            answer = self.server.apply(bare, dry_run=False)
            assert answer.status < 300, answer.refusal()
        for child in (c for c in placed if c["kind"] != "Namespace"):
            refusals += _refusal(child, self.server.apply(child, dry_run=True, **apply))
        return refusals

    def delete(self) -> None:
        for namespace in self.names.values():
            answer = self.server.request("DELETE", NAMESPACES.path(None, namespace))
            assert answer.status in (200, 202, 404), answer.refusal()


def _refusal(obj: Manifest, answer: Answer) -> list[str]:
    meta = obj["metadata"]
    where = f"{obj['apiVersion']} {obj['kind']} {meta.get('namespace', '')}/{meta['name']}"
    problem = answer.refusal()
    return [f"{where}: {problem}"] if problem else []


@pytest.fixture(scope="module")
def server(control_plane: ControlPlane, addon_crd_folder: pathlib.Path) -> Iterator[Server]:
    """The real API server with every CRD of the add-ons' folder installed and Established."""
    plane = Server(control_plane)
    crds = [
        doc
        for path in sorted(addon_crd_folder.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if doc and doc.get("kind") == "CustomResourceDefinition"
    ]
    names = {crd["metadata"]["name"] for crd in crds}
    for api_version, kind in sorted(ADDON_KINDS):
        ref = ref_of_kind(api_version, kind)
        assert f"{ref.plural}.{ref.group}" in names, f"{addon_crd_folder} has no CRD for {kind}"
    control_plane.install(crds)  # a plain request: kubectl's client-side validation refuses `enum: [null]`
    yield plane
    plane.close()


@pytest.fixture
def sandbox(server: Server) -> Iterator[Sandbox]:
    box = Sandbox(server)
    yield box
    box.delete()


# -- the children -----------------------------------------------------------------------------


def examples_config(flavor: str, platform: str) -> PlatformConfig:
    """examples/platform-config.yaml with ``flavor`` on ``platform``, cert-manager and the Prometheus
    Operator on, and monitoring namespaces that may scrape the connectors."""
    body = yaml.safe_load((EXAMPLES / "platform-config.yaml").read_text(encoding="utf-8"))
    body["gateway"]["flavor"] = flavor
    if flavor == "gateway-api":  # the other metrics preset, for the analytics rules
        body["gateway"]["metrics"] = {"preset": "envoy-gateway"}
    body["monitoring"]["prometheusOperator"] = True
    body["certificates"]["certManager"] = True
    if platform == "openshift":  # OpenShift's own gateway namespace, DNS and monitoring selector
        body["platform"] = "openshift"
        del body["gateway"]["namespace"]
    else:
        body["monitoring"]["namespaceSelector"] = {"kubernetes.io/metadata.name": "monitoring"}
    return parse_platform_config(body)


def example_children(flavor: str, platform: str) -> list[Manifest]:
    """The children of everything in examples/, rendered as the operator renders live objects."""
    docs = [
        dataclasses.replace(
            doc, body={**doc.body, "metadata": {**doc.body["metadata"], "uid": str(uuid.uuid4())}}
        )
        for doc in load_documents([EXAMPLES])
        if doc.body.get("kind") in ("WalletTenant", "DocumentSource", "GatewayRoute")
    ]
    return render_resources(docs, examples_config(flavor, platform))


def stamped(child: Manifest) -> Manifest:
    """The child as the operator applies it: with its owner and applied-hash annotations."""
    labels = child["metadata"]["labels"]
    if labels["app.kubernetes.io/name"] == "greenshift-logging":  # the shared log forwarder's
        return stamp(child, ObjectKey("ClusterLogForwarder", child["metadata"]["namespace"], FORWARDER_NAME))
    kind = OWNER_KINDS[labels["app.kubernetes.io/name"]]
    namespace = "" if kind == "WalletTenant" else child["metadata"]["namespace"]
    return stamp(child, ObjectKey(kind, namespace, labels["app.kubernetes.io/instance"]))


def children(flavor: str) -> list[Manifest]:
    """Every child checked for ``flavor``: the examples' and the samples' (add-ons on and off), on
    both platforms (``kubernetes``, ``openshift``)."""
    rendered = [
        *example_children(flavor, "kubernetes"),
        *example_children(flavor, "openshift"),
        *render_samples(addons_config(flavor, addons=True)),
        *render_samples(addons_config(flavor, addons=False)),
        *render_samples(addons_config(flavor, platform="openshift")),
    ]
    return [stamped(child) for child in rendered]


def kinds(objects: list[Manifest]) -> set[tuple[str, str]]:
    return {(obj["apiVersion"], obj["kind"]) for obj in objects}


def template_of(child: Manifest) -> str:
    """The template under templates/ that made ``child``."""
    kind, name = child["kind"], child["metadata"]["name"]
    if kind == "PrometheusRule":
        return "analytics/prometheusrule.yaml.j2"
    if kind == "ConfigMap" and name == "greenshift-dashboard":
        return "analytics/dashboard.yaml.j2"
    if kind == "NetworkPolicy":
        return f"tenant/networkpolicy-{name}.yaml.j2"
    if child["metadata"]["labels"].get("app.kubernetes.io/component") == "logging":
        return f"logging/{kind.lower()}.yaml.j2"
    folder = {
        "greenshift-tenant": "tenant",
        "greenshift-connector": "documentsource",
        "greenshift-route": "gatewayroute",
    }[child["metadata"]["labels"]["app.kubernetes.io/name"]]
    return f"{folder}/{kind.lower()}.yaml.j2"


# -- the tests --------------------------------------------------------------------------------


def test_the_children_checked_come_from_every_child_template() -> None:
    """Offline: the children below cover every template (the catalog's HTML page is no child)."""
    covered = {template_of(child) for flavor in FLAVORS for child in children(flavor)}
    covered.add("analytics/prometheusrule.yaml.j2")  # the platform rule, checked on its own below
    every = {str(p.relative_to(TEMPLATES)) for p in TEMPLATES.glob("*/*.yaml.j2")}
    assert covered == every
    for flavor in FLAVORS:
        assert kinds(children(flavor)) >= ALL_FLAVORS_KINDS | {FLAVOR_KINDS[flavor]}


@pytest.mark.parametrize("flavor", FLAVORS)
def test_the_server_accepts_every_child(server: Server, sandbox: Sandbox, flavor: str) -> None:
    objects = children(flavor)
    assert kinds(objects) >= ALL_FLAVORS_KINDS | {FLAVOR_KINDS[flavor]}
    assert sandbox.check(objects) == []


@pytest.mark.parametrize("preset", ["ingress-nginx", "envoy-gateway"])
def test_the_server_accepts_the_platform_analytics_rule(
    server: Server, sandbox: Sandbox, preset: str
) -> None:
    cfg = parse_platform_config(
        {"monitoring": {"prometheusOperator": True}, "gateway": {"metrics": {"preset": preset}}}
    )
    assert sandbox.check(render_platform_analytics(cfg)) == []


def test_the_server_accepts_the_install_manifests_cert_manager_objects(
    server: Server, sandbox: Sandbox
) -> None:
    """Not children, but `greenshift install` writes them to the same CRDs: its Issuer and Certificate."""
    objects = [
        o for o in install_manifests(certificates="cert-manager") if o["apiVersion"] == "cert-manager.io/v1"
    ]
    assert sorted(o["kind"] for o in objects) == ["Certificate", "Issuer"]
    refusals = []
    for obj in objects:
        ref = ISSUERS if obj["kind"] == "Issuer" else ref_for(obj)
        refusals += sandbox.check([obj], ref=ref, manager="kubectl")
    assert refusals == []


def test_the_server_refuses_what_breaks_a_schema(server: Server, sandbox: Sandbox) -> None:
    """The check has teeth: an unknown field, a CEL rule, an enum, a required field, Pod Security."""
    tls = {"issuerRef": {"name": "acme", "kind": "Issuer"}}
    certificate, ingress = render_gateway_route(route(tls=tls), tenant(), addons_config("ingress"))
    _, http_route = render_gateway_route(route(tls=tls), tenant(), addons_config("gateway-api"))
    _, openshift_route = render_gateway_route(route(tls=tls), tenant(), addons_config("openshift-route"))
    ingress["spec"]["ingressClass"] = "nginx"  # for ingressClassName
    http_route["spec"]["rules"][0]["matches"][0]["path"]["value"] = "identity"  # no leading /
    openshift_route["spec"]["tls"]["termination"] = "offload"
    del certificate["spec"]["secretName"]
    namespace = render_tenant(tenant(), addons_config("ingress"))[0]
    deployment = next(
        c for c in render_document_source(source(), tenant(), PlatformConfig()) if c["kind"] == "Deployment"
    )
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["capabilities"] = {
        "drop": ["NET_RAW"]
    }
    refusals = sandbox.check([namespace, ingress, http_route, openshift_route, certificate, deployment])
    expected = [
        (" Ingress wallet-bosa-", ".spec.ingressClass: field not declared in schema"),
        (" HTTPRoute wallet-bosa-", "must be an absolute path and start with '/'"),
        (" Route wallet-bosa-", 'spec.tls.termination: Unsupported value: "offload"'),
        (" Certificate wallet-bosa-", "spec.secretName: Required value"),
        (
            " Deployment wallet-bosa-",
            'would violate PodSecurity \\"restricted:latest\\": unrestricted capabilities',
        ),
    ]
    assert len(refusals) == len(expected), refusals
    for refusal, (where, what) in zip(refusals, expected, strict=True):
        assert where in refusal, refusal
        assert what in refusal, refusal
