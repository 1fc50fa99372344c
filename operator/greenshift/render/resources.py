"""Rendering a set of loaded manifests, as ``greenshift render`` does, finding each object's tenant."""

import functools
from collections.abc import Callable

from greenshift.config import ConfigError, PlatformConfig, is_platform_config, parse_platform_config
from greenshift.constants import API_VERSION, KIND_ROUTE, KIND_SOURCE, KIND_TENANT, KINDS
from greenshift.loader import Document, is_foreign, is_rate_card
from greenshift.naming import tenant_namespace
from greenshift.render.common import Manifest, RenderError
from greenshift.render.documentsource import render_document_source
from greenshift.render.gatewayroute import render_gateway_route
from greenshift.render.tenant import render_tenant


def _describe(doc: Document) -> str:
    body = doc.body
    name = body.get("metadata", {}).get("name") if isinstance(body.get("metadata"), dict) else None
    return f"{doc.where}: {body.get('kind')}/{name}"


def _check(doc: Document) -> None:
    body = doc.body
    kind = body.get("kind")
    if kind not in KINDS:
        expected = ", ".join((*KINDS, "PlatformConfig"))
        raise RenderError(f"{doc.where}: kind: unknown kind {kind!r} (expected one of {expected})")
    if body.get("apiVersion") != API_VERSION:
        raise RenderError(
            f"{_describe(doc)}: apiVersion: must be {API_VERSION}, got {body.get('apiVersion')!r}"
        )
    meta = body.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise RenderError(f"{doc.where}: {kind}: metadata.name: required")
    if not isinstance(body.get("spec"), dict):
        raise RenderError(f"{_describe(doc)}: spec: required, must be a mapping")
    if kind != KIND_TENANT and not meta.get("namespace"):
        raise RenderError(f"{_describe(doc)}: metadata.namespace: required to find the object's WalletTenant")


def _platform_config(docs: list[Document], given: PlatformConfig | None) -> PlatformConfig:
    found: list[tuple[Document, PlatformConfig]] = []
    for doc in docs:
        if is_platform_config(doc.body):
            try:
                found.append((doc, parse_platform_config(doc.body)))
            except ConfigError as exc:
                raise RenderError(f"{doc.where}: PlatformConfig: {exc}") from None
    configs = [config for _, config in found]
    if given is not None:
        configs.append(given)
    if any(config != configs[0] for config in configs):
        where = ", ".join(doc.where for doc, _ in found)
        raise RenderError(
            f"{where}: PlatformConfig: the inputs hold more than one different platform configuration"
        )
    return configs[0] if configs else PlatformConfig()


def _guard(doc: Document, render: Callable[[], list[Manifest]]) -> list[Manifest]:
    """Run a renderer, turning a malformed input into one line naming the object and the field."""
    try:
        return render()
    except RenderError:
        raise
    except KeyError as exc:
        raise RenderError(
            f"{_describe(doc)}: missing field {exc.args[0]!r} (greenshift validate checks it all)"
        ) from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise RenderError(
            f"{_describe(doc)}: malformed field: {exc} (greenshift validate checks it all)"
        ) from None


def render_resources(docs: list[Document], config: PlatformConfig | None = None) -> list[Manifest]:
    """Every child of the given WalletTenants, DocumentSources and GatewayRoutes, in apply order.

    A ``kind: PlatformConfig`` document among ``docs`` is the platform configuration; it must
    agree with ``config`` when both are given. Order: each tenant's children (Namespace first),
    then the sources' children, then the routes'.
    """
    platform = _platform_config(docs, config)
    resources = [
        doc
        for doc in docs
        if not (is_platform_config(doc.body) or is_foreign(doc.body) or is_rate_card(doc.body))
    ]
    for doc in resources:
        _check(doc)
    seen: dict[tuple[str, str, str], Document] = {}
    tenants: dict[str, Document] = {}
    for doc in resources:
        meta = doc.body["metadata"]
        key = (str(doc.body["kind"]), str(meta.get("namespace", "")), str(meta["name"]))
        if key in seen:
            raise RenderError(f"{_describe(doc)}: defined twice (first at {seen[key].where})")
        seen[key] = doc
        if doc.body["kind"] == KIND_TENANT:
            namespace = tenant_namespace(doc.body)
            if namespace in tenants:
                holder = _describe(tenants[namespace])
                raise RenderError(
                    f"{_describe(doc)}: spec.namespace: {namespace} is already the namespace of {holder}"
                )
            tenants[namespace] = doc

    def tenant_of(doc: Document) -> Manifest:
        namespace = str(doc.body["metadata"]["namespace"])
        if namespace not in tenants:
            raise RenderError(
                f"{_describe(doc)}: no WalletTenant among the inputs owns namespace {namespace}"
            )
        return tenants[namespace].body

    children: list[Manifest] = []
    for doc in _of_kind(resources, KIND_TENANT):
        children += _guard(doc, functools.partial(render_tenant, doc.body, platform))
    for doc in _of_kind(resources, KIND_SOURCE):
        children += _guard(doc, functools.partial(render_document_source, doc.body, tenant_of(doc), platform))
    for doc in _of_kind(resources, KIND_ROUTE):
        children += _guard(doc, functools.partial(render_gateway_route, doc.body, tenant_of(doc), platform))
    return children


def _of_kind(docs: list[Document], kind: str) -> list[Document]:
    return [doc for doc in docs if doc.body["kind"] == kind]
