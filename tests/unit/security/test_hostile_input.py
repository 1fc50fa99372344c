"""Hostile and malformed resources through ``greenshift validate`` (offline): each one is refused
naming the field, or (free text) accepted and rendered harmlessly; none affects another tenant."""

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from security_support import INJECTIONS, SAMPLES, TENANT, harm, render, with_field

from greenshift.cli import main

Manifest = dict[str, Any]
REFUSED, HARMLESS = "refused", "harmless"

# Free-text fields: any string within the length limit is legitimate data, so injections must be
# accepted and rendered as data. Every other string field has an enum, a pattern or a format.
FREE_TEXT = {
    ("WalletTenant", "displayName"),
    ("WalletTenant", "owners.0.name"),
    ("DocumentSource", "displayName"),
    ("DocumentSource", "upstream.soapAction"),
    ("GatewayRoute", "api.title"),
    ("GatewayRoute", "api.description"),
    ("GatewayRoute", "authentication.oidc.audience"),
}
INJECTED_FIELDS = {
    "WalletTenant": (
        "displayName", "agency", "namespace", "owners.0.name", "tier", "quota.cpu", "allowedHosts.0",
        "egress.allowedCIDRs.0",
    ),
    "DocumentSource": (
        "displayName", "documentType", "upstream.url", "upstream.soapAction",
        "upstream.credentialsSecretRef.name", "connector.image", "cache.size",
    ),
    "GatewayRoute": (
        "host", "pathPrefix", "backend.documentSource.name", "authentication.oidc.audience", "api.title",
        "api.description", "tls.secretName",
    ),
}  # fmt: skip
INJECTION = INJECTIONS[0]  # displayName: "x\n---\nkind: ClusterRoleBinding"


def _meta(kind: str, **metadata: Any) -> Manifest:
    body = copy.deepcopy(SAMPLES[kind])
    body["metadata"].update(metadata)
    return body


def _cases() -> list[tuple[str, Manifest, str]]:
    cases: list[tuple[str, Manifest, str]] = []
    # YAML and template injection through the string fields.
    for kind, fields in INJECTED_FIELDS.items():
        for field in fields:
            for index, value in enumerate((INJECTION, "{{ 7*7 }}{% raw %}", "x\u2028kind: Secret")):
                expected = HARMLESS if (kind, field) in FREE_TEXT else REFUSED
                cases.append((f"{kind}.{field}#inj{index}", with_field(kind, field, value), expected))
    # Wrong types.
    for kind, field, value in (
        ("WalletTenant", "displayName", 42), ("WalletTenant", "owners", "admins"),
        ("WalletTenant", "suspended", "yes"),
        ("WalletTenant", "quota.pods", "many"), ("WalletTenant", "allowedHosts", {"a": 1}),
        ("DocumentSource", "connector.replicas", "2"), ("DocumentSource", "upstream", ["https://x"]),
        ("DocumentSource", "cache.retainOnDelete", "false"), ("DocumentSource", "connector.replicas", 1e9),
        ("GatewayRoute", "timeoutSeconds", -1), ("GatewayRoute", "backend", "identity"),
        ("GatewayRoute", "rateLimit", {"requestsPerMinute": 0}), ("GatewayRoute", "host", None),
    ):  # fmt: skip
        cases.append((f"{kind}.{field}:type", with_field(kind, field, value), REFUSED))
    # Oversized and unicode strings.
    cases += [
        ("tenant displayName 101 chars", with_field("WalletTenant", "displayName", "a" * 101), REFUSED),
        ("tenant displayName 100 chars", with_field("WalletTenant", "displayName", "é" * 100), HARMLESS),
        ("tenant displayName 1 MB", with_field("WalletTenant", "displayName", "a" * 1_000_000), REFUSED),
        (
            "source upstream url 1 MB",
            with_field("DocumentSource", "upstream.url", "https://x/" + "a" * 1_000_000),
            REFUSED,
        ),
        ("route description 2001 chars", with_field("GatewayRoute", "api.description", "d" * 2001), REFUSED),
        (
            "route unicode host",
            with_field("GatewayRoute", "host", "\u0456dentity.bosa.wallet.example.be"),  # a Cyrillic i
            REFUSED,
        ),
        # RFC 3986 segments only (issue 16, item 4): a raw emoji is refused, its %XX escape would pass
        ("route emoji path", with_field("GatewayRoute", "pathPrefix", "/😀/v1"), REFUSED),
        (
            "route escaped emoji path",
            with_field("GatewayRoute", "pathPrefix", "/%F0%9F%98%80/v1"),
            HARMLESS,
        ),
        ("tenant RTL displayName", with_field("WalletTenant", "displayName", "\u202eevil"), HARMLESS),
    ]
    # Names at and past the length limits.
    cases += [
        ("source name 56 chars (<name>-config is 63)", _meta("DocumentSource", name="s" * 56), HARMLESS),
        ("source name 57 chars", _meta("DocumentSource", name="s" * 57), REFUSED),
        ("source name 64 chars", _meta("DocumentSource", name="s" * 64), REFUSED),
        ("route name 253 chars", _meta("GatewayRoute", name="r" * 253), REFUSED),
        ("tenant name 56 chars", _meta("WalletTenant", name="t" * 56), HARMLESS),
        ("tenant name 57 chars (namespace 64)", _meta("WalletTenant", name="t" * 57), REFUSED),
        ("tenant namespace 64 chars", with_field("WalletTenant", "namespace", "n" * 64), REFUSED),
        ("tenant namespace kube-system", with_field("WalletTenant", "namespace", "kube-system"), REFUSED),
        ("source name with a slash", _meta("DocumentSource", name="a/b"), REFUSED),
        ("source name uppercase", _meta("DocumentSource", name="Identity"), REFUSED),
    ]
    return cases


CASES = _cases()


def test_there_are_at_least_sixty_hostile_cases() -> None:
    assert len(CASES) >= 60
    print(f"\nFIGURES hostile-input: cases={len(CASES)} refused={sum(c[2] == REFUSED for c in CASES)}")


@pytest.mark.parametrize(("what", "resource", "expected"), CASES, ids=[c[0] for c in CASES])
def test_hostile_resource_is_refused_or_harmless(
    what: str, resource: Manifest, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    documents = [resource] if resource["kind"] == "WalletTenant" else [TENANT, resource]
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump_all(documents, allow_unicode=True))
    code = main(["validate", "-f", str(path)])
    output = capsys.readouterr().out
    if expected == REFUSED:
        assert code == 1, output
        assert "error" in output
        return
    assert code == 0, output
    children = render(resource)
    assert harm(resource, children) == []
    other = render(copy.deepcopy(TENANT))  # the tenant next door renders exactly as before
    assert other == render(copy.deepcopy(TENANT))
