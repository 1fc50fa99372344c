"""Offline validation and the real API server: the same verdicts, naming the same field (issue 13).

The three CRDs of ``crds/`` are installed on the session's kube-apiserver once per module (server-side
apply; they stay installed, applying them again is harmless). Then every resource of the schema
tests (``tests/unit/validation/samples.py``: the invalid table, the single-case invalid resources,
the valid table and counterparts) is sent to it as ``kubectl apply --server-side`` sends it: a
server-side apply ``PATCH`` with ``dryRun=All``, ``fieldManager`` and ``fieldValidation=Strict``
(kubectl's default validation), and checked offline with ``validate_schema``, the schema part of
``greenshift validate``. Every invalid resource must be refused by both, naming the field the test
table names; every valid one, and everything in ``examples/`` (through ``validate_documents``, the
whole of ``greenshift validate``), accepted by both.

How the server names a field, and how the test reads it:

- 422 Invalid: ``details.causes[].field``;
- a server-side apply patch that does not fit the schema's types (a string where an integer is
  declared, an undeclared field, a duplicate in a ``set`` list): 500 ``failed to create typed patch
  object (...): .spec.x: ...``: the path after ``): .``. A duplicate names the list, not the item, so
  a list's path matches the offline finding on one of its items;
- no name (metadata null, or ``name: ""``): 400 "name must be provided": ``metadata.name``;
- a namespace that cannot exist (``Wallet``): 404 ``namespaces "Wallet" not found``: ``metadata.namespace``;
- a kind the group does not serve: the API discovery does not list it, so a client (kubectl: "no
  matches for kind") cannot even send it: ``kind``.

Status is written through the ``status`` subresource (a write to the main resource ignores it), so
a resource with an invalid ``status`` is created for real without it and its status applied (dry
run) to ``/status``. Transition rules need a stored object: the tenant is created for real, then
the change is applied (dry run).

Namespaced resources go to namespaces of this module's own (the resource's namespace plus a random
suffix), created for real and deleted at the end; the offline check sees the resource unchanged.

``KNOWN_DIFFERENCES`` lists where the two disagree, with the reason; docs/validate.md says the same.
The small CRDs of ``samples.CRD_CASES`` (cost limits, cardinality, escaping, fieldPath, defaults)
are created (dry run) and compared with ``greenshift.validation.cel.crd_problems``.
"""

import copy
import http.client
import json
import pathlib
import re
import secrets
import ssl
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from greenshift.constants import API_VERSION, KINDS
from greenshift.envtest import ControlPlane
from greenshift.loader import Document, load_documents
from greenshift.schemas import load_crds
from greenshift.validation import validate_documents, validate_schema
from greenshift.validation.cel import crd_problems

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "unit" / "validation"))  # the schema tests' samples
from samples import (  # noqa: E402
    CRD_CASES,
    TRANSITIONS_INVALID,
    TRANSITIONS_VALID,
    crd_case,
    fresh,
    invalid_cases,
    set_path,
    tenant_with_namespace,
    valid_cases,
)

EXAMPLES = ROOT / "examples"
FIELD_MANAGER = "greenshift-parity"
PLURALS = {
    "WalletTenant": "wallettenants",
    "DocumentSource": "documentsources",
    "GatewayRoute": "gatewayroutes",
}
DEFAULT_NAMESPACE = "wallet-bosa"
ABSENT_NAMESPACE = "wallet-not-yet"
"""The namespace of the "namespace not created yet" difference: never created."""


@dataclass(frozen=True)
class Difference:
    """A resource on which ``greenshift validate`` and the API server disagree, and why."""

    case: str
    inputs: tuple[dict[str, Any], ...]  # what greenshift validate is given; the last one is sent
    refused_by: str  # "offline" or "server"
    field: str
    reason: str
    field_validation: str = "Strict"


def _source(**changes: Any) -> dict[str, Any]:
    source = fresh("DocumentSource")
    for path, value in changes.items():
        set_path(source, path.replace("__", "."), value)
    return source


def _differences() -> list[Difference]:
    tenant = fresh("WalletTenant")
    platform_rule = (
        "a platform rule: the admission webhook (when installed) refuses it, the operator reports it "
    )
    return [
        Difference(
            "image not certified",
            (tenant, _source(spec__connector__image="docker.io/library/nginx:1.27")),
            "offline",
            "spec.connector.image",
            platform_rule
            + "(ImageNotCertified); the certified registries are platform configuration, not CRD",
        ),
        Difference(
            "image not pinned",
            (tenant, _source(spec__connector__image="registry.greenshift.local/certified/identity:latest")),
            "offline",
            "spec.connector.image",
            platform_rule + "(ImageNotPinned)",
        ),
        Difference(
            "upstream URL with credentials",
            (tenant, _source(spec__upstream__url="https://user:secret@rrn.fsb.belgium.be/api")),
            "offline",
            "spec.upstream.url",
            platform_rule + "(InvalidSpec); the CRD's rule only asks https://host",
        ),
        Difference(
            "reserved tenant namespace",
            (set_path(fresh("WalletTenant"), "spec.namespace", "kube-system"),),
            "offline",
            "spec.namespace",
            platform_rule + "(NamespaceNotAllowed)",
        ),
        Difference(
            "host not allowed",
            (tenant, set_path(fresh("GatewayRoute"), "spec.host", "api.other.be")),
            "offline",
            "spec.host",
            platform_rule + "(HostNotAllowed): it needs the tenant's allowedHosts",
        ),
        Difference(
            "unknown field, created by a client without strict validation",
            (tenant, _source(spec__connector__imagePullPolicy="Always")),
            "offline",
            "spec.connector.imagePullPolicy",
            "a create or update (not a server-side apply, which refuses an undeclared field whatever the "
            "validation) from a client that does not ask for fieldValidation=Strict (kubectl asks by "
            "default): the API server drops the field with a warning; greenshift validate refuses it",
            field_validation="Warn",
        ),
        Difference(
            "namespace not created yet",
            (
                set_path(fresh("WalletTenant"), "spec.namespace", ABSENT_NAMESPACE),
                set_path(fresh("DocumentSource"), "metadata.namespace", ABSENT_NAMESPACE),
            ),
            "server",
            "metadata.namespace",
            "the API server refuses a resource in a namespace that does not exist (the operator makes the "
            "tenant's namespace once the tenant is applied); offline there is no cluster, only the inputs",
        ),
    ]


DIFFERENCES = _differences()
KNOWN_DIFFERENCES = {f"difference: {d.case}": d.reason for d in DIFFERENCES}
"""Case id -> why the offline validator and the API server disagree on it; docs/validate.md lists them."""


@dataclass
class Answer:
    status: int
    body: Any

    @property
    def refused(self) -> bool:
        return self.status >= 400

    def fields(self) -> set[str]:
        """The fields the server names in a refusal (see the module docstring)."""
        body = self.body if isinstance(self.body, dict) else {}
        message = str(body.get("message", ""))
        causes = (body.get("details") or {}).get("causes") or []
        found = {str(c["field"]) for c in causes if c.get("field") and c.get("field") != "<nil>"}
        typed = re.search(r"failed to create typed patch object \([^)]*\): \.([^:\s]+):", message)
        if typed:
            found.add(typed.group(1))
        if "name must be provided" in message:
            found.add("metadata.name")
        if self.status == 404 and re.match(r'namespaces "[^"]*" not found', message):
            found.add("metadata.namespace")
        if body.get("reason") == "UnknownKind":
            found.add("kind")
        return found


class Server:
    """Plain HTTPS calls to the API server as the admin, keeping the whole error body (causes)."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        self._connection: http.client.HTTPSConnection | None = None

    def request(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> Answer:
        for attempt in range(2):
            connection = self._connect()
            try:
                payload = None if body is None else json.dumps(body, default=str)
                headers = {
                    "Authorization": f"Bearer {self.plane.token()}",
                    "Content-Type": content_type,
                    "Accept": "application/json",
                }
                connection.request(method, path, body=payload, headers=headers)
                response = connection.getresponse()
                data = response.read()
                return Answer(response.status, json.loads(data) if data else None)
            except (http.client.RemoteDisconnected, ConnectionError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _connect(self) -> http.client.HTTPSConnection:
        if self._connection is None:
            context = ssl.create_default_context(cafile=str(self.plane.ca_path))
            host, port = self.plane.url.removeprefix("https://").split(":")
            self._connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=30)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def apply(self, path: str, obj: Any, *, dry_run: bool = True, field_validation: str = "Strict") -> Answer:
        query = f"?fieldManager={FIELD_MANAGER}&fieldValidation={field_validation}&force=true"
        return self.request(
            "PATCH", path + query + ("&dryRun=All" if dry_run else ""), obj, "application/apply-patch+yaml"
        )


@dataclass
class Cluster:
    server: Server
    suffix: str
    kinds: set[str]
    namespaces: set[str] = field(default_factory=set)

    def namespace_for(self, namespace: Any) -> str | None:
        """This module's namespace for a resource's namespace; the namespace itself when it cannot exist."""
        if not isinstance(namespace, str) or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", namespace):
            return namespace if isinstance(namespace, str) else None
        mapped = f"{namespace}-{self.suffix}"[:63].rstrip("-")
        if namespace == ABSENT_NAMESPACE:
            return mapped
        if mapped not in self.namespaces:
            answer = self.server.request(
                "POST",
                "/api/v1/namespaces",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": mapped}},
            )
            assert answer.status in (201, 409), answer.body
            self.namespaces.add(mapped)
        return mapped

    def path(self, resource: dict[str, Any], subresource: str = "") -> str:
        metadata = resource.get("metadata") if isinstance(resource.get("metadata"), dict) else {}
        name = metadata.get("name") if isinstance(metadata.get("name"), str) and metadata.get("name") else "x"
        kind = str(resource.get("kind"))
        plural = PLURALS.get(kind, kind.lower() + "s")
        base = f"/apis/{API_VERSION}/"
        if kind != "WalletTenant":
            base += f"namespaces/{self.namespace_for(metadata.get('namespace', DEFAULT_NAMESPACE))}/"
        return base + f"{plural}/{name}" + (f"/{subresource}" if subresource else "")

    def placed(self, resource: dict[str, Any]) -> dict[str, Any]:
        """The resource as sent: in this module's namespace."""
        sent = copy.deepcopy(resource)
        metadata = sent.get("metadata")
        if isinstance(metadata, dict) and sent.get("kind") != "WalletTenant":
            metadata["namespace"] = self.namespace_for(metadata.get("namespace", DEFAULT_NAMESPACE))
        return sent

    def dry_run(self, resource: dict[str, Any], field_validation: str = "Strict") -> Answer:
        """What the API server answers to ``kubectl apply --server-side`` of ``resource`` (nothing stored)."""
        if field_validation != "Strict":
            # A create (POST), as kubectl create --validate=warn or a client library sends it.
            collection = self.path(resource).rsplit("/", 1)[0]
            query = f"?dryRun=All&fieldManager={FIELD_MANAGER}&fieldValidation={field_validation}"
            return self.server.request("POST", collection + query, self.placed(resource))
        if resource.get("kind") not in self.kinds:
            # kubectl asks the discovery first and stops: 'no matches for kind "X" in version "..."'.
            message = f'no matches for kind "{resource.get("kind")}" in version "{API_VERSION}"'
            return Answer(404, {"reason": "UnknownKind", "message": message})
        if "status" in resource:
            without = {k: v for k, v in resource.items() if k != "status"}
            created = self.server.apply(self.path(resource), self.placed(without), dry_run=False)
            assert not created.refused, created.body
            status = {
                k: v
                for k, v in self.placed(resource).items()
                if k in ("apiVersion", "kind", "metadata", "status")
            }
            return self.server.apply(self.path(resource, "status"), status)
        return self.server.apply(
            self.path(resource), self.placed(resource), field_validation=field_validation
        )


@pytest.fixture(scope="module")
def cluster(control_plane: ControlPlane) -> Iterator[Cluster]:
    server = Server(control_plane)
    control_plane.install(load_crds())
    discovery = server.request("GET", f"/apis/{API_VERSION}")
    kinds = {r["kind"] for r in (discovery.body or {}).get("resources", [])}
    result = Cluster(server, secrets.token_hex(3), kinds)
    try:
        yield result
    finally:
        for tenant in list(_created_tenants):
            server.request("DELETE", f"/apis/{API_VERSION}/wallettenants/{tenant}")
        for namespace in result.namespaces:
            server.request("DELETE", f"/api/v1/namespaces/{namespace}")
        server.close()


_created_tenants: set[str] = set()


def _offline_errors(resource: dict[str, Any], old: dict[str, Any] | None = None) -> set[str]:
    return {p.field for p in validate_schema(resource, old=old) if p.severity == "error"}


def _names(fields: set[str], expected: str) -> bool:
    """Whether ``fields`` name ``expected``, or the list whose item ``expected`` is (typed-patch errors)."""
    return expected in fields or re.sub(r"\[\d+\]$", "", expected) in fields


INVALID = invalid_cases()
VALID = valid_cases()
assert len({c[0] for c in INVALID}) == len(INVALID)
assert len({c[0] for c in VALID}) == len(VALID)


@dataclass(frozen=True)
class Verdict:
    offline_refused: bool
    offline_fields: frozenset[str]
    server_refused: bool
    server_fields: frozenset[str]
    server_message: str


_verdicts: dict[str, Verdict] = {}


def _judge(cluster: Cluster, case: str, resource: dict[str, Any]) -> Verdict:
    if case not in _verdicts:
        offline = _offline_errors(resource)
        answer = cluster.dry_run(resource)
        message = json.dumps(answer.body, default=str)[:600]
        _verdicts[case] = Verdict(
            bool(offline), frozenset(offline), answer.refused, frozenset(answer.fields()), message
        )
    return _verdicts[case]


@pytest.mark.parametrize(("case", "resource", "expected"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_resource_is_refused_by_both_naming_the_field(
    cluster: Cluster, case: str, resource: dict[str, Any], expected: str
) -> None:
    verdict = _judge(cluster, case, resource)
    assert verdict.offline_refused, verdict
    assert _names(set(verdict.offline_fields), expected), verdict
    assert verdict.server_refused, f"the API server accepted it: {verdict}"
    assert _names(set(verdict.server_fields), expected), verdict


@pytest.mark.parametrize(("case", "resource"), VALID, ids=[c[0] for c in VALID])
def test_valid_resource_is_accepted_by_both(cluster: Cluster, case: str, resource: dict[str, Any]) -> None:
    verdict = _judge(cluster, f"valid: {case}", resource)
    assert not verdict.offline_refused, verdict
    assert not verdict.server_refused, verdict


def _examples() -> list[tuple[str, dict[str, Any]]]:
    documents = load_documents([str(EXAMPLES)])
    return [
        (f"{pathlib.Path(d.path).relative_to(ROOT)}:{d.line}", d.body)
        for d in documents
        if d.body.get("apiVersion") == API_VERSION and d.body.get("kind") in KINDS
    ]


EXAMPLES_CASES = _examples()


def test_the_examples_are_valid_offline() -> None:
    report = validate_documents(load_documents([str(EXAMPLES)]))
    assert report.errors == 0, [str(f) for f in report.findings]
    assert report.resources == len(EXAMPLES_CASES) >= 10


@pytest.mark.parametrize(("case", "resource"), EXAMPLES_CASES, ids=[c[0] for c in EXAMPLES_CASES])
def test_every_example_is_accepted_by_the_api_server(
    cluster: Cluster, case: str, resource: dict[str, Any]
) -> None:
    verdict = _judge(cluster, f"example: {case}", resource)
    assert not verdict.offline_refused, verdict
    assert not verdict.server_refused, verdict


def _transition(
    cluster: Cluster, index: int, old_namespace: str | None, new_namespace: str | None
) -> tuple[set[str], Answer]:
    """The tenant stored with ``old_namespace``, then applied (dry run) with ``new_namespace``."""
    name = f"parity-{cluster.suffix}-{index}"

    def tenant(namespace: str | None) -> dict[str, Any]:
        if namespace == "wallet-bosa":
            namespace = f"wallet-{name}"
        body = tenant_with_namespace(namespace)
        body["metadata"]["name"] = name
        return body

    old, new = tenant(old_namespace), tenant(new_namespace)
    path = f"/apis/{API_VERSION}/wallettenants/{name}"
    created = cluster.server.apply(path, old, dry_run=False)
    assert not created.refused, created.body
    _created_tenants.add(name)
    try:
        answer = cluster.server.apply(path, new)
    finally:
        cluster.server.request("DELETE", path)
        _created_tenants.discard(name)
    return _offline_errors(new, old=old), answer


@pytest.mark.parametrize(("old", "new"), TRANSITIONS_INVALID)
def test_changing_the_tenant_namespace_is_refused_by_both(
    cluster: Cluster, old: str | None, new: str | None
) -> None:
    offline, answer = _transition(cluster, TRANSITIONS_INVALID.index((old, new)), old, new)
    assert offline == {"spec.namespace"}
    assert answer.refused, answer.body
    assert answer.fields() == {"spec.namespace"}, answer.body
    _verdicts[f"transition {old}->{new}"] = Verdict(
        True, frozenset(offline), True, frozenset(answer.fields()), ""
    )


@pytest.mark.parametrize(("old", "new"), TRANSITIONS_VALID)
def test_keeping_the_tenant_namespace_is_accepted_by_both(
    cluster: Cluster, old: str | None, new: str | None
) -> None:
    offline, answer = _transition(cluster, 10 + TRANSITIONS_VALID.index((old, new)), old, new)
    assert offline == set()
    assert not answer.refused, answer.body
    _verdicts[f"valid: transition {old}->{new}"] = Verdict(False, frozenset(), False, frozenset(), "")


@pytest.mark.parametrize(("name", "spec_schema", "refused"), CRD_CASES, ids=[c[0] for c in CRD_CASES])
def test_the_api_server_judges_crd_limits_as_validate_does(
    cluster: Cluster, name: str, spec_schema: dict[str, Any], refused: bool
) -> None:
    crd = crd_case(name, spec_schema)
    answer = cluster.server.request(
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions?dryRun=All&fieldValidation=Strict",
        crd,
    )
    assert answer.refused == refused, answer.body
    assert bool(crd_problems(crd)) == refused


def test_the_shipped_crds_pass_the_offline_crd_checks() -> None:
    """The module fixture installed them on the API server; the offline checks agree."""
    for crd in load_crds():
        assert crd_problems(crd) == [], crd["metadata"]["name"]


def _judge_difference(cluster: Cluster, difference: Difference) -> Verdict:
    case = f"difference: {difference.case}"
    if case not in _verdicts:
        documents = [Document("inputs", index + 1, body) for index, body in enumerate(difference.inputs)]
        report = validate_documents(documents)
        offline = {
            f.problem.field
            for f in report.findings
            if f.line == len(documents) and f.problem.severity == "error"
        }
        answer = cluster.dry_run(difference.inputs[-1], difference.field_validation)
        message = json.dumps(answer.body, default=str)[:600]
        _verdicts[case] = Verdict(
            bool(offline), frozenset(offline), answer.refused, frozenset(answer.fields()), message
        )
    return _verdicts[case]


@pytest.mark.parametrize("difference", DIFFERENCES, ids=[d.case for d in DIFFERENCES])
def test_known_difference_still_holds(cluster: Cluster, difference: Difference) -> None:
    """Each listed difference is real: one side refuses, naming the field, and the other accepts."""
    verdict = _judge_difference(cluster, difference)
    if difference.refused_by == "offline":
        assert not verdict.server_refused, verdict
        assert verdict.offline_refused, verdict
        assert difference.field in verdict.offline_fields, verdict
    else:
        assert not verdict.offline_refused, verdict
        assert verdict.server_refused, verdict
        assert difference.field in verdict.server_fields, verdict


def test_parity_figures(cluster: Cluster) -> None:
    """Every resource above, counted: refused by both, by one only, accepted by both (run last)."""
    for case, resource, _ in INVALID:
        _judge(cluster, case, resource)
    for case, resource in VALID:
        _judge(cluster, f"valid: {case}", resource)
    for case, resource in EXAMPLES_CASES:
        _judge(cluster, f"example: {case}", resource)
    for difference in DIFFERENCES:
        _judge_difference(cluster, difference)
    both = sum(1 for v in _verdicts.values() if v.offline_refused and v.server_refused)
    offline_only = sorted(c for c, v in _verdicts.items() if v.offline_refused and not v.server_refused)
    server_only = sorted(c for c, v in _verdicts.items() if v.server_refused and not v.offline_refused)
    accepted = sum(1 for v in _verdicts.values() if not v.offline_refused and not v.server_refused)
    print(  # the figures docs/validate.md quotes
        f"\nparity: {both} refused by both, {len(offline_only)} offline only, {len(server_only)} "
        f"by the API server only, {accepted} accepted by both"
    )
    assert sorted(KNOWN_DIFFERENCES) == sorted(offline_only + server_only)
    assert both >= 93
