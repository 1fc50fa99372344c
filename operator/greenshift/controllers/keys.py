"""Object keys: how the queue, the indexes and the children name a Greenshift resource (or the one
shared log forwarder, which has no resource of its own)."""

from typing import Any, NamedTuple

from greenshift.config import PlatformConfig
from greenshift.constants import GROUP
from greenshift.render.logging import FORWARDER_NAME

OWNER_ANNOTATION = f"{GROUP}/owner"


class ObjectKey(NamedTuple):
    kind: str
    namespace: str  # "" for the cluster-scoped WalletTenant
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"

    @property
    def annotation(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"

    @classmethod
    def parse(cls, value: str) -> "ObjectKey | None":
        parts = value.split("/")
        return cls(*parts) if len(parts) == 3 else None


def key_of(body: Any) -> ObjectKey:
    meta = body.get("metadata", {})
    return ObjectKey(str(body.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", "")))


def owner_of(child: Any) -> ObjectKey | None:
    """The Greenshift resource a child belongs to, from the annotation the operator stamps on it.

    The annotation is input (whoever may write the object may write it): a child of a namespaced
    resource counts only in that resource's namespace, so nothing in one tenant's namespace can
    pass for, wake, or be pruned as a child of another's. (A WalletTenant's children are checked
    against its namespace and uid where the tenant is known: ``Context.children``.)
    """
    meta = child.get("metadata", {})
    value = (meta.get("annotations") or {}).get(OWNER_ANNOTATION)
    owner = ObjectKey.parse(value) if isinstance(value, str) else None
    if owner is None or (owner.namespace and owner.namespace != (meta.get("namespace") or "")):
        return None
    return owner


KIND_LOG_FORWARDER = "ClusterLogForwarder"
"""The queue's kind for the one shared log forwarder, a singleton the operator keeps without a
custom resource of its own (``controllers.logforwarder``)."""


def log_forwarder_key(config: PlatformConfig) -> ObjectKey | None:
    """The key of the shared log forwarder (its namespace and name), None without logging: its
    children (the forwarder, the CA ConfigMap) name it as their owner, so that their drift wakes it."""
    if config.logging.flavor != "openshift-logging":
        return None
    return ObjectKey(KIND_LOG_FORWARDER, config.logging.namespace, FORWARDER_NAME)
