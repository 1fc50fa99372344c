"""The children of a GatewayRoute: one gateway object of the platform's flavor, and its certificate."""

import math
from typing import Any
from urllib.parse import urlencode

from greenshift.config import PlatformConfig
from greenshift.naming import tenant_namespace
from greenshift.render.common import Manifest, labels, metadata, render_template
from greenshift.render.documentsource import SERVICE_PORT
from greenshift.schemas import with_defaults

APP_NAME = "greenshift-route"
NGINX = "nginx.ingress.kubernetes.io/"
HAPROXY = "haproxy.router.openshift.io/"
AUTH_SERVICE = "greenshift-auth"
"""The platform's authentication service in the gateway namespace (deployed with the gateway)."""
CLIENT_CA_SECRET = "greenshift-client-ca"  # noqa: S105 - a Secret name, not a secret
"""The Secret in the gateway namespace holding the CA bundle that client certificates must chain to."""


def auth_service_url(config: PlatformConfig) -> str:
    return f"http://{AUTH_SERVICE}.{config.gateway.namespace}.svc.cluster.local"


def backend_service(route: Manifest) -> dict[str, Any]:
    """``{name, port}`` of the Service behind the route: a DocumentSource's Service is ``<name>:80``."""
    backend = route["spec"]["backend"]
    if backend.get("documentSource"):
        return {"name": str(backend["documentSource"]["name"]), "port": SERVICE_PORT}
    return {"name": str(backend["service"]["name"]), "port": int(backend["service"]["port"])}


def tls_secret_name(route: Manifest) -> str | None:
    """The Secret holding the route's certificate: ``tls.secretName``, or ``<name>-tls`` with an issuer."""
    tls = route["spec"].get("tls") or {}
    if tls.get("secretName"):
        return str(tls["secretName"])
    if tls.get("issuerRef"):
        return f"{route['metadata']['name']}-tls"
    return None


def intent_annotations(route: Manifest) -> dict[str, str]:
    """Gateway-neutral ``greenshift.io/*`` annotations: the route's protocol, authentication and limits."""
    spec = route["spec"]
    auth = spec["authentication"]
    notes = {
        "greenshift.io/protocol": str(spec["protocol"]),
        "greenshift.io/authentication": str(auth["type"]),
    }
    if auth["type"] == "oidc":
        notes["greenshift.io/oidc-issuer"] = str(auth["oidc"]["issuer"])
        notes["greenshift.io/oidc-audience"] = str(auth["oidc"]["audience"])
    rate = spec.get("rateLimit")
    if rate:
        notes["greenshift.io/rate-limit-rpm"] = str(rate["requestsPerMinute"])
        if "burst" in rate:
            notes["greenshift.io/rate-limit-burst"] = str(rate["burst"])
    return notes


def nginx_annotations(route: Manifest, config: PlatformConfig) -> dict[str, str]:
    """ingress-nginx annotations for the route's timeout, rate limit and authentication.

    ingress-nginx has no absolute burst: its burst is ``limit-rpm * limit-burst-multiplier``,
    so the multiplier is the smallest integer that allows at least ``burst`` (at least 1).
    OIDC and API-key routes are checked by the platform's authentication service through
    ``auth-url``; if that service is missing, ingress-nginx refuses the requests (fails closed).
    """
    spec = route["spec"]
    timeout = str(spec["timeoutSeconds"])
    notes = {NGINX + "proxy-read-timeout": timeout, NGINX + "proxy-send-timeout": timeout}
    rate = spec.get("rateLimit")
    if rate:
        rpm = int(rate["requestsPerMinute"])
        notes[NGINX + "limit-rpm"] = str(rpm)
        if "burst" in rate:
            notes[NGINX + "limit-burst-multiplier"] = str(max(1, math.ceil(int(rate["burst"]) / rpm)))
    auth = spec["authentication"]
    gateway = config.gateway.namespace
    if auth["type"] == "mtls":
        notes |= {
            NGINX + "auth-tls-verify-client": "on",
            NGINX + "auth-tls-secret": f"{gateway}/{CLIENT_CA_SECRET}",
            NGINX + "auth-tls-verify-depth": "2",
            NGINX + "auth-tls-pass-certificate-to-upstream": "true",
        }
    elif auth["type"] == "oidc":
        query = urlencode({"issuer": auth["oidc"]["issuer"], "audience": auth["oidc"]["audience"]})
        notes[NGINX + "auth-url"] = f"{auth_service_url(config)}/verify/oidc?{query}"
    elif auth["type"] == "apiKey":
        notes[NGINX + "auth-url"] = f"{auth_service_url(config)}/verify/api-key"
    return notes


def haproxy_annotations(route: Manifest) -> dict[str, str]:
    """OpenShift router annotations: the timeout, and the rate limit as HTTP requests per 10 seconds."""
    spec = route["spec"]
    notes = {HAPROXY + "timeout": f"{spec['timeoutSeconds']}s"}
    rate = spec.get("rateLimit")
    if rate:
        notes[HAPROXY + "rate-limit-connections"] = "true"
        notes[HAPROXY + "rate-limit-connections.rate-http"] = str(
            math.ceil(int(rate["requestsPerMinute"]) / 6)
        )
    return notes


def render_gateway_route(
    route: Manifest, tenant: Manifest, config: PlatformConfig, *, defaulted: bool = False
) -> list[Manifest]:
    """The route's children in apply order: the Certificate (if any), then the gateway object.

    A route of a suspended tenant has no children: it is unpublished. ``defaulted``: both come
    from the API server, which applied the CRDs' defaults.
    """
    if not defaulted:
        route = with_defaults(route)
        tenant = with_defaults(tenant)
    if tenant["spec"]["suspended"]:
        return []
    spec = route["spec"]
    name = str(route["metadata"]["name"])
    namespace = str(route["metadata"].get("namespace") or tenant_namespace(tenant))
    child_labels = labels(tenant, name=APP_NAME, instance=name, component="gateway-route")
    service = backend_service(route)
    secret = tls_secret_name(route)
    host = str(spec["host"])
    path = str(spec["pathPrefix"])

    def meta(annotations: dict[str, str] | None = None) -> dict[str, Any]:
        return metadata(name, namespace=namespace, labels=child_labels, annotations=annotations, owner=route)

    children: list[Manifest] = []
    issuer = (spec.get("tls") or {}).get("issuerRef")
    if issuer and config.certificates.certManager:
        children.append(
            render_template(
                "gatewayroute/certificate.yaml.j2",
                api_version="cert-manager.io/v1",
                kind="Certificate",
                metadata=meta(),
                secret_name=secret,
                host=host,
                issuer={"name": str(issuer["name"]), "kind": str(issuer["kind"])},
            )
        )
    flavor = config.gateway.flavor
    if flavor == "ingress":
        children.append(
            render_template(
                "gatewayroute/ingress.yaml.j2",
                api_version="networking.k8s.io/v1",
                kind="Ingress",
                metadata=meta(intent_annotations(route) | nginx_annotations(route, config)),
                ingress_class=config.gateway.ingressClassName,
                tls_secret=secret,
                host=host,
                path=path,
                service=service,
            )
        )
    elif flavor == "gateway-api":
        parent = config.gateway.parentRef
        children.append(
            render_template(
                "gatewayroute/httproute.yaml.j2",
                api_version="gateway.networking.k8s.io/v1",
                kind="HTTPRoute",
                metadata=meta(intent_annotations(route)),
                parent={"name": parent.name, "namespace": parent.namespace},
                host=host,
                path=path,
                service=service,
                timeout=f"{spec['timeoutSeconds']}s",
            )
        )
    else:
        # A DocumentSource's Service port is named http; a number is read by the router as the pod's port.
        target_port: str | int = "http" if spec["backend"].get("documentSource") else service["port"]
        children.append(
            render_template(
                "gatewayroute/route.yaml.j2",
                api_version="route.openshift.io/v1",
                kind="Route",
                metadata=meta(intent_annotations(route) | haproxy_annotations(route)),
                host=host,
                path=path,
                service=service,
                target_port=target_port,
                tls_secret=secret,
            )
        )
    return children
