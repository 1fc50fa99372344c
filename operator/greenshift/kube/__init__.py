"""A small asyncio Kubernetes client: server-side apply, status writes, deletes, typed errors."""

from greenshift.kube.client import KubeClient, connect
from greenshift.kube.errors import ApiError, PermanentApiError, TemporaryApiError
from greenshift.kube.resources import ROUTES, SOURCES, TENANTS, ResourceRef, ref_for, ref_of_kind

__all__ = [
    "ROUTES",
    "SOURCES",
    "TENANTS",
    "ApiError",
    "KubeClient",
    "PermanentApiError",
    "ResourceRef",
    "TemporaryApiError",
    "connect",
    "ref_for",
    "ref_of_kind",
]
