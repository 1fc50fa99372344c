"""Every rendered object is valid, Pod Security restricted, isolated, injection-proof and deterministic."""

import copy
import itertools
import json
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from render_support import (
    ADDON_KINDS,
    EXAMPLES,
    FLAVORS,
    addons_config,
    builtin_objects,
    config,
    live,
    pod_specs,
    render_samples,
    restricted_violations,
    route,
    source,
    tenant,
    validate_object,
)

from greenshift.config import PlatformConfig
from greenshift.loader import load_documents
from greenshift.render import (
    common,
    render_document_source,
    render_gateway_route,
    render_resources,
    render_tenant,
)
from greenshift.render.common import sorted_json
from greenshift.schemas import with_defaults


def render_examples(cfg: PlatformConfig | None = None) -> list[dict[str, Any]]:
    return render_resources(load_documents([EXAMPLES]), cfg)


def variations() -> list[dict[str, Any]]:
    """Objects rendered over what changes children: flavor, add-ons, tls, tier, suspension, scaling, cache."""
    objects: list[dict[str, Any]] = []
    for flavor, addons in itertools.product(FLAVORS, [False, True]):
        objects += render_samples(addons_config(flavor, addons=addons))
    return objects


VARIATIONS = variations()


def test_examples_render_every_kind() -> None:
    kinds = {obj["kind"] for obj in render_examples()}
    assert kinds >= {
        "Namespace",
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "RoleBinding",
        "ConfigMap",
        "PersistentVolumeClaim",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "ServiceMonitor",
        "Certificate",
        "Ingress",
    }


def test_examples_cover_every_document_type() -> None:
    types = {
        d.body["spec"]["documentType"]
        for d in load_documents([EXAMPLES])
        if d.body["kind"] == "DocumentSource"
    }
    assert types == {
        "identity",
        "isi-plus",
        "mybenefits",
        "marriage-certificate",
        "driving-licence",
        "ehic",
        "custom",
    }


# Offline checks of the built-in kinds. Every child, of every kind (the add-ons' too), is also sent
# to a real API server by tests/integration/realserver/test_addon_schemas.py.
@pytest.mark.parametrize("flavor", FLAVORS)
def test_every_example_object_of_a_builtin_kind_is_valid(flavor: str) -> None:
    docs = [d for d in load_documents([EXAMPLES]) if d.body["kind"] != "PlatformConfig"]
    for obj in builtin_objects(render_resources(docs, addons_config(flavor))):
        validate_object(obj)


def test_every_variation_object_of_a_builtin_kind_is_valid() -> None:
    kinds = {(obj["apiVersion"], obj["kind"]) for obj in VARIATIONS}
    assert kinds >= ADDON_KINDS
    assert ("autoscaling/v2", "HorizontalPodAutoscaler") in kinds
    for obj in builtin_objects(VARIATIONS):
        validate_object(obj)


def test_invalid_objects_are_caught() -> None:
    """The offline validator is strict: a misspelt field fails."""
    (ingress,) = render_gateway_route(route(), tenant(), PlatformConfig())
    ingress["spec"]["ingressClass"] = "nginx"
    with pytest.raises(Exception, match="ingressClass"):
        validate_object(ingress)


@pytest.mark.parametrize("objects", [VARIATIONS, render_examples()], ids=["variations", "examples"])
def test_every_pod_template_is_pod_security_restricted(objects: list[dict[str, Any]]) -> None:
    pods = pod_specs(objects)
    assert pods
    for pod in pods:
        assert restricted_violations(pod) == []
        for container in pod["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert pod["automountServiceAccountToken"] is False


def test_restricted_checker_catches_violations() -> None:
    pod = {
        "hostNetwork": True,
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
        "containers": [
            {"name": "c", "securityContext": {"privileged": True, "capabilities": {"add": ["SYS_ADMIN"]}}}
        ],
    }
    problems = restricted_violations(pod)
    for expected in (
        "hostNetwork",
        "hostPath",
        "privileged",
        "allowPrivilegeEscalation",
        "runAsNonRoot",
        "seccomp",
    ):
        assert any(expected in p for p in problems), expected
    assert any("drop ALL" in p for p in problems)
    assert any("capabilities added" in p for p in problems)


def test_every_tenant_has_default_deny() -> None:
    objects = render_examples()
    namespaces = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
    denied = {
        o["metadata"]["namespace"]
        for o in objects
        if o["kind"] == "NetworkPolicy"
        and o["metadata"]["name"] == "default-deny"
        and o["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    }
    assert len(namespaces) == 5
    assert namespaces == denied


def test_every_child_carries_the_contract_labels() -> None:
    """Every tenant's child names its tenant; the shared log forwarder (and its CA ConfigMap) is
    every tenant's, so names none."""
    for obj in [*render_examples(), *VARIATIONS]:
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "greenshift-operator"
        if labels["app.kubernetes.io/name"] == "greenshift-logging":
            assert "greenshift.io/tenant" not in labels
        else:
            assert labels["greenshift.io/tenant"]


def test_namespaces_are_never_owned() -> None:
    assert all("ownerReferences" not in o["metadata"] for o in VARIATIONS if o["kind"] == "Namespace")


def test_rendering_is_deterministic() -> None:
    assert yaml.safe_dump_all(render_examples()) == yaml.safe_dump_all(render_examples())
    assert variations() == VARIATIONS


HOSTILE = [
    'x"\n---\nkind: ClusterRoleBinding',
    "x\n---\nkind: ClusterRoleBinding\nmetadata: {name: pwned}",
    "{{ 7*7 }}",
    "{% raw %}{{ config }}",
    "a: b\n  c: [d",
    "!!python/object:os.system 'id'",
    "&anchor *alias | > # comment",
    "\u2028line\u2029sep\x85nel\ufeffbom\x00nul\x7f",
    "emoji 😀 and ünïcode",
]


def kinds(objects: list[dict[str, Any]]) -> list[str]:
    return [o["kind"] for o in objects]


@pytest.mark.parametrize("value", HOSTILE)
def test_user_strings_render_as_data(value: str) -> None:
    ten = tenant(displayName=value, owners=[{"kind": "User", "name": value}])
    children = render_tenant(ten, PlatformConfig())
    assert kinds(children) == kinds(render_tenant(tenant(), PlatformConfig()))
    assert children[0]["metadata"]["annotations"]["greenshift.io/display-name"] == value
    assert children[-1]["subjects"][0]["name"] == value

    src = source(
        upstream={"url": "https://x.example.be/" + value, "protocol": "SOAP", "soapAction": value},
        connector={"image": value, "replicas": 1},
    )
    children = render_document_source(src, tenant(), PlatformConfig())
    assert kinds(children) == ["ConfigMap", "Deployment", "Service"]
    deployment = children[1]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == value
    settings = json.loads(children[0]["data"]["connector.json"])
    assert settings["upstream"]["soapAction"] == value

    oidc = {"type": "oidc", "oidc": {"issuer": "https://idp/" + value, "audience": value}}
    cfg = config(gateway={"flavor": "openshift-route"}, certificates={"certManager": True})
    rt = route(
        host=value,
        pathPrefix="/" + value,
        authentication=oidc,
        tls={"issuerRef": {"name": value, "kind": "Issuer"}},
    )
    children = render_gateway_route(rt, tenant(), cfg)
    assert kinds(children) == ["Certificate", "Route"]
    assert children[1]["spec"]["host"] == value
    assert children[1]["spec"]["path"] == "/" + value
    assert children[1]["metadata"]["annotations"]["greenshift.io/oidc-audience"] == value
    assert children[0]["spec"]["issuerRef"]["name"] == value


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_display_name_round_trips(value: str) -> None:
    namespace = render_tenant(tenant(displayName=value), PlatformConfig())[0]
    assert namespace["metadata"]["annotations"]["greenshift.io/display-name"] == value


def test_parsing_each_template_shape_once_renders_what_parsing_yaml_renders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast = [*variations(), *render_examples()]
    monkeypatch.setattr(common, "_render_fast", lambda *_: None)
    assert fast == [*variations(), *render_examples()]


def test_sorted_json_writes_the_bytes_json_wrote() -> None:
    """Children applied by an earlier version keep their applied-hash (no re-apply after an upgrade),
    dashboards their text."""
    accented = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "é"},
        "data": {"t": "𝄞 \u2028 \x01"},
    }
    children = [*render_examples(), *variations(), accented]
    assert len(children) > 100
    for child in children:
        assert sorted_json(child) == json.dumps(child, sort_keys=True, separators=(",", ":")).encode()
        assert sorted_json(child, indent=True) == json.dumps(child, indent=2, sort_keys=True).encode()


@pytest.mark.parametrize("flavor", FLAVORS)
def test_objects_the_api_server_defaulted_render_the_same_and_are_left_alone(flavor: str) -> None:
    """The operator renders objects the API server already defaulted (``defaulted=True``): the
    same children as from a file, and its objects (shared with its caches) are not modified."""
    cfg = config(gateway={"flavor": flavor}, monitoring={"prometheusOperator": True})
    for ten in (
        tenant(),
        tenant(tier="critical", egress={"allowedCIDRs": ["10.0.0.0/8"]}),
        tenant(suspended=True),
    ):
        owner = with_defaults(live(ten))
        src = with_defaults(live(source()))
        rt = with_defaults(live(route(tls={"secretName": "wallet-tls"})))
        before = copy.deepcopy([owner, src, rt])
        assert render_tenant(owner, cfg, defaulted=True) == render_tenant(live(ten), cfg)
        assert render_document_source(src, owner, cfg, defaulted=True) == render_document_source(
            live(source()), live(ten), cfg
        )
        assert render_gateway_route(rt, owner, cfg, defaulted=True) == render_gateway_route(
            live(route(tls={"secretName": "wallet-tls"})), live(ten), cfg
        )
        assert [owner, src, rt] == before
