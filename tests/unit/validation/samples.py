"""The test data of schema validation: a valid resource of each kind, which tests copy and break one
field at a time, and the tables of invalid and valid variants. The unit tests check them offline;
tests/integration/realserver/test_crd_parity.py sends the same ones to a real API server."""

from typing import Any

TENANT: dict[str, Any] = {
    "apiVersion": "greenshift.io/v1alpha1",
    "kind": "WalletTenant",
    "metadata": {"name": "bosa"},
    "spec": {
        "displayName": "FOD BOSA",
        "agency": "BOSA",
        "owners": [{"kind": "Group", "name": "bosa-admins"}],
        "allowedHosts": ["*.bosa.wallet.belgium.be", "docs.bosa.be"],
    },
}

SOURCE: dict[str, Any] = {
    "apiVersion": "greenshift.io/v1alpha1",
    "kind": "DocumentSource",
    "metadata": {"name": "identity", "namespace": "wallet-bosa"},
    "spec": {
        "documentType": "identity",
        "displayName": "Identity card",
        "upstream": {"url": "https://rrn.fsb.belgium.be/api"},
        "connector": {"image": "registry.greenshift.local/certified/identity:1.2.0"},
    },
}

ROUTE: dict[str, Any] = {
    "apiVersion": "greenshift.io/v1alpha1",
    "kind": "GatewayRoute",
    "metadata": {"name": "identity", "namespace": "wallet-bosa"},
    "spec": {
        "host": "api.bosa.wallet.belgium.be",
        "pathPrefix": "/identity/v1",
        "backend": {"documentSource": {"name": "identity"}},
        "authentication": {
            "type": "oidc",
            "oidc": {"issuer": "https://idp.belgium.be/realms/wallet", "audience": "wallet"},
        },
    },
}


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def fresh(kind: str) -> dict[str, Any]:
    """A deep copy of the valid resource of ``kind``."""
    result: dict[str, Any] = _copy(
        {"WalletTenant": TENANT, "DocumentSource": SOURCE, "GatewayRoute": ROUTE}[kind]
    )
    return result


DELETE = object()


def set_path(resource: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set (or with DELETE remove) ``path`` like ``spec.quota.cpu``, creating parents."""
    *parents, leaf = path.split(".")
    node = resource
    for key in parents:
        node = node.setdefault(key, {})
    if value is DELETE:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return resource


def _owners(n: int) -> list[dict[str, str]]:
    return [{"kind": "User", "name": f"user{i}"} for i in range(n)]


# (kind, path to change, new value, the field the message must name, a fragment of what is allowed)
INVALID: list[tuple[str, str, Any, str, str]] = [
    ("WalletTenant", "spec.displayName", "", "spec.displayName", "at least 1"),
    ("WalletTenant", "spec.displayName", "x" * 101, "spec.displayName", "at most 100"),
    ("WalletTenant", "spec.agency", "bosa", "spec.agency", "capital letters"),
    ("WalletTenant", "spec.agency", "B", "spec.agency", "2 to 16"),
    ("WalletTenant", "spec.agency", DELETE, "spec.agency", "required"),
    ("WalletTenant", "spec.namespace", "Wallet_Bosa", "spec.namespace", "DNS-1123 label"),
    ("WalletTenant", "spec.namespace", "a" * 64, "spec.namespace", "at most 63"),
    ("WalletTenant", "spec.owners", [], "spec.owners", "at least 1"),
    ("WalletTenant", "spec.owners", _owners(21), "spec.owners", "at most 20"),
    ("WalletTenant", "spec.owners", [{"kind": "Robot", "name": "r2"}], "spec.owners[0].kind", "User, Group"),
    ("WalletTenant", "spec.owners", [{"kind": "User"}], "spec.owners[0].name", "required"),
    ("WalletTenant", "spec.viewers", _owners(51), "spec.viewers", "at most 50"),
    ("WalletTenant", "spec.tier", "gold", "spec.tier", "standard, critical"),
    ("WalletTenant", "spec.quota.cpu", "four", "spec.quota.cpu", "Kubernetes quantity"),
    ("WalletTenant", "spec.quota.memory", "8GB", "spec.quota.memory", "Kubernetes quantity"),
    ("WalletTenant", "spec.quota.storage", True, "spec.quota.storage", "Kubernetes quantity"),
    ("WalletTenant", "spec.quota.pods", 0, "spec.quota.pods", "between 1 and 1000"),
    ("WalletTenant", "spec.quota.pods", 1001, "spec.quota.pods", "between 1 and 1000"),
    ("WalletTenant", "spec.quota.pods", "40", "spec.quota.pods", "must be an integer"),
    ("WalletTenant", "spec.quota.documentSources", 101, "spec.quota.documentSources", "between 0 and 100"),
    ("WalletTenant", "spec.quota.gatewayRoutes", -1, "spec.quota.gatewayRoutes", "between 0 and 200"),
    ("WalletTenant", "spec.allowedHosts", ["*.*.bosa.be"], "spec.allowedHosts[0]", "wildcard"),
    ("WalletTenant", "spec.allowedHosts", ["API.bosa.be"], "spec.allowedHosts[0]", "lowercase"),
    ("WalletTenant", "spec.allowedHosts", ["a.be", "a.be"], "spec.allowedHosts[1]", "set"),
    ("WalletTenant", "spec.egress.allowedCIDRs", ["10.0.0.0/33"], "spec.egress.allowedCIDRs[0]", "CIDR"),
    ("WalletTenant", "spec.egress.allowedCIDRs", ["10.0.0.1"], "spec.egress.allowedCIDRs[0]", "CIDR"),
    ("WalletTenant", "spec.suspended", "yes", "spec.suspended", "boolean"),
    ("WalletTenant", "spec.deletionPolicy", "Purge", "spec.deletionPolicy", "Retain, Delete"),
    ("WalletTenant", "spec.owner", "me", "spec.owner", "unknown field, allowed: displayName"),
    ("WalletTenant", "spec.quota.gpus", 1, "spec.quota.gpus", "unknown field, allowed: cpu"),
    ("WalletTenant", "metadata.name", "a" * 57, "metadata.name", "at most 56"),
    ("WalletTenant", "metadata.name", "bosa.fed", "metadata.name", "DNS-1123 label"),
    ("WalletTenant", "metadata.name", "Bosa", "metadata.name", "DNS name"),
    ("WalletTenant", "spec", DELETE, "spec", "required"),
    ("DocumentSource", "spec.documentType", "passport", "spec.documentType", "identity, isi-plus"),
    ("DocumentSource", "spec.displayName", DELETE, "spec.displayName", "required"),
    ("DocumentSource", "spec.format", "xml", "spec.format", "sd-jwt-vc, mdoc, pdf, json"),
    ("DocumentSource", "spec.upstream.url", "http://rrn.fsb.belgium.be", "spec.upstream.url", "https://"),
    ("DocumentSource", "spec.upstream.url", "https://", "spec.upstream.url", "https://"),
    ("DocumentSource", "spec.upstream", DELETE, "spec.upstream", "required"),
    ("DocumentSource", "spec.upstream.protocol", "GRPC", "spec.upstream.protocol", "REST, SOAP"),
    ("DocumentSource", "spec.upstream.soapAction", "urn:get", "spec.upstream.soapAction", "protocol is SOAP"),
    (
        "DocumentSource",
        "spec.upstream.timeoutSeconds",
        0,
        "spec.upstream.timeoutSeconds",
        "between 1 and 120",
    ),
    (
        "DocumentSource",
        "spec.upstream.timeoutSeconds",
        121,
        "spec.upstream.timeoutSeconds",
        "between 1 and 120",
    ),
    (
        "DocumentSource",
        "spec.upstream.credentialsSecretRef",
        {},
        "spec.upstream.credentialsSecretRef.name",
        "required",
    ),
    ("DocumentSource", "spec.connector.image", DELETE, "spec.connector.image", "required"),
    ("DocumentSource", "spec.connector.replicas", 51, "spec.connector.replicas", "between 0 and 50"),
    ("DocumentSource", "spec.connector.replicas", 1.5, "spec.connector.replicas", "must be an integer"),
    (
        "DocumentSource",
        "spec.connector.autoscaling",
        {"minReplicas": 5, "maxReplicas": 3},
        "spec.connector.autoscaling.minReplicas",
        "less than or equal to maxReplicas",
    ),
    (
        "DocumentSource",
        "spec.connector.autoscaling",
        {"maxReplicas": 3, "targetCPUUtilizationPercentage": 5},
        "spec.connector.autoscaling.targetCPUUtilizationPercentage",
        "between 10 and 95",
    ),
    (
        "DocumentSource",
        "spec.connector.autoscaling",
        {"minReplicas": 2},
        "spec.connector.autoscaling.maxReplicas",
        "required",
    ),
    (
        "DocumentSource",
        "spec.connector.resources",
        {"requests": {"cpu": "lots"}},
        "spec.connector.resources.requests.cpu",
        "Kubernetes quantity",
    ),
    (
        "DocumentSource",
        "spec.connector.resources",
        {"cpu": 1},
        "spec.connector.resources.cpu",
        "allowed: requests, limits",
    ),
    (
        "DocumentSource",
        "spec.connector.imagePullPolicy",
        "Always",
        "spec.connector.imagePullPolicy",
        "unknown field",
    ),
    ("DocumentSource", "spec.cache.size", "10 Gi", "spec.cache.size", "Kubernetes quantity"),
    ("DocumentSource", "spec.cache.retainOnDelete", "no", "spec.cache.retainOnDelete", "boolean"),
    ("DocumentSource", "spec.statusList.enabled", 1, "spec.statusList.enabled", "boolean"),
    ("DocumentSource", "metadata.name", "9lives", "metadata.name", "DNS-1035 label"),
    ("DocumentSource", "metadata.name", "a" * 57, "metadata.name", "at most 56"),
    ("DocumentSource", "metadata.namespace", "Wallet", "metadata.namespace", "DNS-1123 label"),
    ("GatewayRoute", "spec.host", "API.bosa.be", "spec.host", "DNS name"),
    ("GatewayRoute", "spec.host", DELETE, "spec.host", "required"),
    ("GatewayRoute", "spec.pathPrefix", "api", "spec.pathPrefix", "starting with '/'"),
    ("GatewayRoute", "spec.pathPrefix", "/a/../b", "spec.pathPrefix", "'..'"),
    ("GatewayRoute", "spec.pathPrefix", "/a?x=1", "spec.pathPrefix", "no query"),
    ("GatewayRoute", "spec.pathPrefix", "/a#top", "spec.pathPrefix", "fragment"),
    # issue 16, item 4: RFC 3986 segments only, no empty or dot segment, nothing a gateway reads as
    # syntax (the ingress-nginx path injection of CVE-2021-25745)
    (
        "GatewayRoute",
        "spec.pathPrefix",
        "/x;}location~*^/{proxy_pass $scheme://169.254.169.254;}location/y{",
        "spec.pathPrefix",
        "no spaces, ';', '$'",
    ),
    ("GatewayRoute", "spec.pathPrefix", "/a//b", "spec.pathPrefix", "no empty segment"),
    ("GatewayRoute", "spec.pathPrefix", "//", "spec.pathPrefix", "no empty segment"),
    ("GatewayRoute", "spec.pathPrefix", "/a/./b", "spec.pathPrefix", "'.' segment"),
    ("GatewayRoute", "spec.pathPrefix", "/a/.", "spec.pathPrefix", "'.' segment"),
    ("GatewayRoute", "spec.pathPrefix", "/a/../", "spec.pathPrefix", "'..'"),
    ("GatewayRoute", "spec.pathPrefix", "/a/%2e%2e/b", "spec.pathPrefix", "must not escape"),
    ("GatewayRoute", "spec.pathPrefix", "/a%2Fb", "spec.pathPrefix", "must not escape"),
    ("GatewayRoute", "spec.pathPrefix", "/a%zz", "spec.pathPrefix", "%XX escapes"),
    ("GatewayRoute", "spec.pathPrefix", "/a b", "spec.pathPrefix", "no spaces"),
    ("GatewayRoute", "spec.pathPrefix", "/a'b", "spec.pathPrefix", "quotes"),
    ("GatewayRoute", "spec.pathPrefix", "/a(b)", "spec.pathPrefix", "parentheses"),
    ("GatewayRoute", "spec.pathPrefix", "/a{b}", "spec.pathPrefix", "braces"),
    ("GatewayRoute", "spec.protocol", "GRPC", "spec.protocol", "REST, SOAP"),
    ("GatewayRoute", "spec.backend", {}, "spec.backend", "exactly one of documentSource or service"),
    (
        "GatewayRoute",
        "spec.backend.service",
        {"name": "api", "port": 8080},
        "spec.backend",
        "exactly one of documentSource or service",
    ),
    ("GatewayRoute", "spec.backend", {"service": {"name": "api"}}, "spec.backend.service.port", "required"),
    (
        "GatewayRoute",
        "spec.backend",
        {"service": {"name": "api", "port": 70000}},
        "spec.backend.service.port",
        "65535",
    ),
    ("GatewayRoute", "spec.authentication", {"type": "oidc"}, "spec.authentication.oidc", "required"),
    ("GatewayRoute", "spec.authentication", {}, "spec.authentication.oidc", "when type is oidc"),
    (
        "GatewayRoute",
        "spec.authentication.type",
        "basic",
        "spec.authentication.type",
        "none, oidc, mtls, apiKey",
    ),
    (
        "GatewayRoute",
        "spec.authentication.oidc.issuer",
        "http://idp",
        "spec.authentication.oidc.issuer",
        "https://",
    ),
    (
        "GatewayRoute",
        "spec.authentication.oidc.audience",
        DELETE,
        "spec.authentication.oidc.audience",
        "required",
    ),
    (
        "GatewayRoute",
        "spec.rateLimit",
        {"requestsPerMinute": 0},
        "spec.rateLimit.requestsPerMinute",
        "between 1",
    ),
    (
        "GatewayRoute",
        "spec.rateLimit",
        {"requestsPerMinute": 10, "burst": 10001},
        "spec.rateLimit.burst",
        "between 0 and 10000",
    ),
    ("GatewayRoute", "spec.timeoutSeconds", 301, "spec.timeoutSeconds", "between 1 and 300"),
    ("GatewayRoute", "spec.tls", {}, "spec.tls", "exactly one of secretName or issuerRef"),
    (
        "GatewayRoute",
        "spec.tls",
        {"secretName": "crt", "issuerRef": {"name": "le", "kind": "ClusterIssuer"}},
        "spec.tls",
        "exactly one of secretName or issuerRef",
    ),
    (
        "GatewayRoute",
        "spec.tls",
        {"issuerRef": {"name": "v", "kind": "Vault"}},
        "spec.tls.issuerRef.kind",
        "Issuer",
    ),
    ("GatewayRoute", "spec.api", {"specPath": "openapi.json"}, "spec.api.specPath", "starting with '/'"),
    ("GatewayRoute", "spec.api", {"title": ""}, "spec.api.title", "at least 1"),
    (
        "GatewayRoute",
        "status",
        {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "Maybe",
                    "reason": "X",
                    "message": "",
                    "lastTransitionTime": "2024-01-01T00:00:00Z",
                }
            ]
        },
        "status.conditions[0].status",
        "True, False, Unknown",
    ),
    (
        "GatewayRoute",
        "status",
        {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "X",
                    "message": "",
                    "lastTransitionTime": "yesterday",
                }
            ]
        },
        "status.conditions[0].lastTransitionTime",
        "RFC 3339",
    ),
    ("GatewayRoute", "metadata.name", "r" * 64, "metadata.name", "at most 63"),
    ("GatewayRoute", "spec", ["host"], "spec", "must be an object"),
    (
        "GatewayRoute",
        "statuss",
        {},
        "statuss",
        "unknown field, allowed: apiVersion, kind, metadata, spec, status",
    ),
]


# Each CEL rule the other way round: the counterpart that must pass.
VALID: list[tuple[str, str, Any]] = [
    (
        "DocumentSource",
        "spec.upstream",
        {"url": "https://x.be/ws", "protocol": "SOAP", "soapAction": "urn:get"},
    ),
    ("DocumentSource", "spec.connector.autoscaling", {"minReplicas": 3, "maxReplicas": 3}),
    ("DocumentSource", "spec.connector.autoscaling", {"maxReplicas": 1}),
    ("DocumentSource", "spec.upstream.url", "https://rrn.fsb.belgium.be:8443/api/v1?x=1"),
    ("DocumentSource", "metadata.name", "a" * 56),
    ("GatewayRoute", "spec.backend", {"service": {"name": "api", "port": 8080}}),
    ("GatewayRoute", "spec.authentication", {"type": "none"}),
    ("GatewayRoute", "spec.authentication", {"type": "mtls"}),
    ("GatewayRoute", "spec.tls", {"secretName": "crt"}),
    ("GatewayRoute", "spec.tls", {"issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}}),
    ("GatewayRoute", "spec.pathPrefix", "/"),
    ("GatewayRoute", "spec.pathPrefix", "/a.b/c"),
    ("GatewayRoute", "spec.pathPrefix", "/docs/v1/"),
    ("GatewayRoute", "spec.pathPrefix", "/%C3%A9tat/v1"),
    ("GatewayRoute", "spec.pathPrefix", "/a:b@c/~x/!&*+,=-_"),
    ("GatewayRoute", "metadata.name", "r" * 63),
    ("WalletTenant", "metadata.name", "a" * 56),
    ("WalletTenant", "spec.quota", {"cpu": 8, "memory": "16Gi", "storage": "1Ti"}),
    ("WalletTenant", "spec.quota.cpu", "500m"),
    ("WalletTenant", "spec.egress", {"allowedCIDRs": ["10.0.0.0/8", "2001:db8::/32"]}),
]


def _extra_invalid() -> list[tuple[str, dict[str, Any], str]]:
    """Invalid resources of test_schema_validation.py's single-case tests: (id, resource, field)."""
    cases: list[tuple[str, dict[str, Any], str]] = []
    tenant = set_path(set_path(fresh("WalletTenant"), "spec.namespace", "bosa"), "metadata.name", "a" * 64)
    cases.append(("tenant name of 64 with a namespace", tenant, "metadata.name"))
    source = set_path(fresh("DocumentSource"), "spec.upstream", {"url": 42, "soapAction": "urn:x"})
    cases.append(("url of the wrong type next to a rule", source, "spec.upstream.url"))
    autoscaling = {"minReplicas": 2, "maxReplicas": "3"}
    source = set_path(fresh("DocumentSource"), "spec.connector.autoscaling", autoscaling)
    cases.append(("a rule over a mistyped field", source, "spec.connector.autoscaling.maxReplicas"))
    for label, metadata, field in [
        ("metadata null", None, "metadata.name"),
        ("metadata a list", [], "metadata"),
        ("metadata.name empty", {"name": ""}, "metadata.name"),
        ("metadata.name a number", {"name": 5}, "metadata.name"),
    ]:
        source = fresh("DocumentSource")
        source["metadata"] = metadata
        cases.append((label, source, field))
    cases.append(("unknown kind", {**fresh("WalletTenant"), "kind": "Wallet"}, "kind"))
    route = set_path(fresh("GatewayRoute"), "spec.authentication", DELETE)
    cases.append(("route without authentication", route, "spec.authentication.oidc"))
    source = set_path(fresh("DocumentSource"), "spec.upstream.soapAction", None)
    cases.append(("null without a default", source, "spec.upstream.soapAction"))
    return cases


def invalid_cases() -> list[tuple[str, dict[str, Any], str]]:
    """Every invalid resource of the schema tests, as (id, resource, the field the refusal names)."""
    table = [
        (f"{kind} {path}={value!r:.40} -> {field}", set_path(fresh(kind), path, value), field)
        for kind, path, value, field, _ in INVALID
    ]
    return table + _extra_invalid()


def valid_cases() -> list[tuple[str, dict[str, Any]]]:
    """Every valid resource of the schema tests, as (id, resource)."""
    table = [
        (f"{kind} {path}={value!r:.40}", set_path(fresh(kind), path, value)) for kind, path, value in VALID
    ]
    tenant = set_path(set_path(fresh("WalletTenant"), "spec.namespace", "bosa"), "metadata.name", "a" * 63)
    table.append(("tenant name of 63 with a namespace", tenant))
    dotted = set_path(set_path(fresh("WalletTenant"), "spec.namespace", "bosa"), "metadata.name", "bosa.fed")
    table.append(("tenant name with a dot and a namespace", dotted))
    table.append(("null with a default", set_path(fresh("DocumentSource"), "spec.statusList", None)))
    return [(f"{kind}", fresh(kind)) for kind in ("WalletTenant", "DocumentSource", "GatewayRoute")] + table


TRANSITIONS_INVALID: list[tuple[str | None, str | None]] = [
    ("bosa-a", "bosa-b"),
    (None, "bosa-b"),
    ("bosa-a", None),
]
"""(old, new) spec.namespace of a tenant: changing the effective namespace is refused."""
TRANSITIONS_VALID: list[tuple[str | None, str | None]] = [
    ("bosa-a", "bosa-a"),
    (None, None),
    (None, "wallet-bosa"),
    ("wallet-bosa", None),
]


def tenant_with_namespace(namespace: str | None) -> dict[str, Any]:
    tenant = fresh("WalletTenant")
    if namespace is not None:
        tenant["spec"]["namespace"] = namespace
    return tenant


def _rules(rule: str) -> list[dict[str, str]]:
    return [{"rule": rule}]


_REGEX_124 = "self.matches('" + "a" * 124 + "')"
_REGEX_125 = "self.matches('" + "a" * 125 + "')"

CRD_CASES: list[tuple[str, dict[str, Any], bool]] = [
    # (name, the schema of spec, whether the API server refuses the CRD)
    # an unbounded string (3 MiB) matched against a regex of 124, then 125 characters: the estimated
    # cost is 314 573 x 31 + 1 = 9 751 764, then 314 573 x 32 + 1 = 10 066 337 (limit 10 000 000).
    (
        "regexbelow",
        {
            "type": "object",
            "properties": {"s": {"type": "string", "x-kubernetes-validations": _rules(_REGEX_124)}},
        },
        False,
    ),
    (
        "regexabove",
        {
            "type": "object",
            "properties": {"s": {"type": "string", "x-kubernetes-validations": _rules(_REGEX_125)}},
        },
        True,
    ),
    # the Kubernetes documentation's examples: all() over an unbounded list of unbounded strings...
    (
        "allunbounded",
        {
            "type": "object",
            "properties": {
                "l": {
                    "type": "array",
                    "items": {"type": "string"},
                    "x-kubernetes-validations": _rules("self.all(x, x.contains('a string'))"),
                }
            },
        },
        True,
    ),
    # ...allowed with maxItems and maxLength,
    (
        "allbounded",
        {
            "type": "object",
            "properties": {
                "l": {
                    "type": "array",
                    "maxItems": 25,
                    "items": {"type": "string", "maxLength": 10},
                    "x-kubernetes-validations": _rules("self.all(x, x.contains('a string'))"),
                }
            },
        },
        False,
    ),
    # and a rule on the items of a list of lists, refused without limits.
    (
        "nestedlists",
        {
            "type": "object",
            "properties": {
                "l": {
                    "type": "array",
                    "items": {
                        "type": "array",
                        "items": {"type": "integer"},
                        "x-kubernetes-validations": _rules("self.all(x, x == 5)"),
                    },
                }
            },
        },
        True,
    ),
    # cardinality: a rule of cost 7 620 on each of at most 1 312, then 1 313 items (9 997 440, 10 005 060).
    *(
        (
            f"items{count}",
            {
                "type": "object",
                "properties": {
                    "l": {
                        "type": "array",
                        "maxItems": count,
                        "items": {
                            "type": "string",
                            "maxLength": 1000,
                            "x-kubernetes-validations": _rules("self.matches('" + "a" * 76 + "')"),
                        },
                    }
                },
            },
            count > 1312,
        )
        for count in (1312, 1313)
    ),
    # the whole CRD: ten rules of 9 751 764 fit in 100 000 000, eleven do not.
    *(
        (
            f"total{count}",
            {
                "type": "object",
                "properties": {
                    f"s{i}": {"type": "string", "x-kubernetes-validations": _rules(_REGEX_124)}
                    for i in range(count)
                },
            },
            count > 10,
        )
        for count in (10, 11)
    ),
    # escaped property names, and a reserved word used unescaped.
    (
        "escaped",
        {
            "type": "object",
            "properties": {
                n: {"type": "string", "maxLength": 10} for n in ("x-y", "a.b", "in", "c__d", "p/q")
            },
            "x-kubernetes-validations": _rules(
                "self.x__dash__y == self.a__dot__b && self.__in__ == self.c__underscores__d"
                " && self.p__slash__q == ''"
            ),
        },
        False,
    ),
    (
        "unescaped",
        {
            "type": "object",
            "properties": {"in": {"type": "string", "maxLength": 5}},
            "x-kubernetes-validations": _rules("self.in == 'a'"),
        },
        True,
    ),
    (
        "misspelt",
        {
            "type": "object",
            "properties": {"name": {"type": "string", "maxLength": 5}},
            "x-kubernetes-validations": _rules("self.nmae == 'a'"),
        },
        True,
    ),
    # a fieldPath must name a declared field; a default must satisfy its node's rules as written.
    (
        "fieldpath",
        {
            "type": "object",
            "properties": {"a": {"type": "string", "maxLength": 5}},
            "x-kubernetes-validations": [{"rule": "self.a != 'x'", "fieldPath": ".b"}],
        },
        True,
    ),
    (
        "badefault",
        {
            "type": "object",
            "properties": {
                "auth": {
                    "type": "object",
                    "default": {},
                    "x-kubernetes-validations": _rules("self.type != 'oidc' || has(self.oidc)"),
                    "properties": {
                        "type": {"type": "string", "enum": ["none", "oidc"], "default": "oidc"},
                        "oidc": {"type": "string", "maxLength": 5},
                    },
                }
            },
        },
        True,
    ),
]
"""Small CRDs around the limits the API server enforces on rules, each checked offline by
test_cel.py and on a real API server (v1.36.2) by test_crd_parity.py."""


def crd_case(name: str, spec_schema: dict[str, Any]) -> dict[str, Any]:
    """A namespaced CRD ``<name>s.limits.greenshift.test`` whose ``spec`` has ``spec_schema``."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{name}s.limits.greenshift.test"},
        "spec": {
            "group": "limits.greenshift.test",
            "scope": "Namespaced",
            "names": {
                "kind": name.capitalize(),
                "plural": f"{name}s",
                "singular": name,
                "listKind": f"{name.capitalize()}List",
            },
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": spec_schema}}},
                }
            ],
        },
    }
