"""Pure renderers: the child objects of each Greenshift resource, from templates, without API calls.

Owner references are set only when the resource has ``metadata.uid`` (a live object);
offline renders from files have none. Data safety: a tenant's Namespace never has an owner
reference, and a DocumentSource's cache PVC has one only when ``cache.retainOnDelete`` is false.
"""

from greenshift.naming import tenant_namespace
from greenshift.render.common import RenderError
from greenshift.render.documentsource import render_document_source
from greenshift.render.gatewayroute import render_gateway_route
from greenshift.render.resources import render_resources
from greenshift.render.tenant import render_tenant

__all__ = [
    "RenderError",
    "render_document_source",
    "render_gateway_route",
    "render_resources",
    "render_tenant",
    "tenant_namespace",
]
