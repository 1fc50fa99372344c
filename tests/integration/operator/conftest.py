"""The operator, in-process, against the real Kubernetes API server (envtest) over TLS.

The test session has one control plane (``control_plane`` in tests/conftest.py: etcd,
kube-apiserver and kube-controller-manager, with every CRD installed); each test module gets
one operator (module scope, so the module's tests share an event loop: ``pytestmark`` in every
module sets ``loop_scope="module"``), which authenticates as its own user, and leaves the
cluster as it found it: its tenants are deleted (through the operator, which holds their
finalizer) and its namespaces too. A module picks its platform configuration and the
``available_deployments`` switch by overriding the ``platform_config`` and
``available_deployments`` fixtures; with the switch on, a stand-in kubelet
(``greenshift.envtest.kubelet``) runs the Deployments' Pods so that the real Deployment
controller reports them available. Tests use unique names, so they do not see each other.

The reliability tests (tests/integration/reliability) reuse these helpers with the embedded
API server, whose faults they need; ``Operator`` runs against either.

The resync interval is an hour: everything the tests see happen is driven by watch events.
"""

import asyncio
import concurrent.futures
import contextlib
import itertools
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from typing import Any, TypeVar

import kopf
import pytest
import pytest_asyncio

from greenshift.config import PlatformConfig, parse_platform_config
from greenshift.constants import API_VERSION
from greenshift.controllers.conditions import now_rfc3339
from greenshift.controllers.wiring import Runtime
from greenshift.devcluster import DevCluster
from greenshift.envtest import ADMIN, OPERATOR, ControlPlane
from greenshift.envtest.kubelet import FakeKubelet
from greenshift.kube import KubeClient, PermanentApiError, ResourceRef, ref_of_kind
from greenshift.runner import OperatorOptions, run_operator

Body = dict[str, Any]
T = TypeVar("T")
TIMEOUT = 10.0
RESYNC_SECONDS = 3600.0
TEST_MANAGER = "integration-tests"
MANAGED_BY = "app.kubernetes.io/managed-by"
TENANT = "greenshift.io/tenant"
OWNER = "greenshift.io/owner"
IMAGE = "registry.greenshift.local/certified/connector:1.0.0"

TENANTS = ref_of_kind(API_VERSION, "WalletTenant")
SOURCES = ref_of_kind(API_VERSION, "DocumentSource")
ROUTES = ref_of_kind(API_VERSION, "GatewayRoute")
NAMESPACES = ref_of_kind("v1", "Namespace")
SERVICES = ref_of_kind("v1", "Service")
CONFIGMAPS = ref_of_kind("v1", "ConfigMap")
PVCS = ref_of_kind("v1", "PersistentVolumeClaim")
QUOTAS = ref_of_kind("v1", "ResourceQuota")
LIMITS = ref_of_kind("v1", "LimitRange")
DEPLOYMENTS = ref_of_kind("apps/v1", "Deployment")
NETPOLS = ref_of_kind("networking.k8s.io/v1", "NetworkPolicy")
INGRESSES = ref_of_kind("networking.k8s.io/v1", "Ingress")
BINDINGS = ref_of_kind("rbac.authorization.k8s.io/v1", "RoleBinding")
HPAS = ref_of_kind("autoscaling/v2", "HorizontalPodAutoscaler")
PDBS = ref_of_kind("policy/v1", "PodDisruptionBudget")
HTTPROUTES = ref_of_kind("gateway.networking.k8s.io/v1", "HTTPRoute")
OPENSHIFT_ROUTES = ref_of_kind("route.openshift.io/v1", "Route")
CERTIFICATES = ref_of_kind("cert-manager.io/v1", "Certificate")

_names = itertools.count(1)


def unique(prefix: str) -> str:
    """A name no other test of the session uses."""
    return f"{prefix}-{next(_names)}"


class Kube:
    """The tests' own client: writes as a field manager of their own, reads whole objects."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client

    async def apply(self, obj: Body) -> Body:
        ref = ref_of_kind(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        result = await self.client.request(
            "PATCH",
            ref.path(meta.get("namespace"), meta["name"]),
            params={"fieldManager": TEST_MANAGER, "force": "true"},
            body=obj,
            content_type="application/apply-patch+yaml",
        )
        return result or {}

    async def create(self, obj: Body) -> Body:
        ref = ref_of_kind(obj["apiVersion"], obj["kind"])
        result = await self.client.request("POST", ref.path(obj["metadata"].get("namespace")), body=obj)
        return result or {}

    async def patch(self, ref: ResourceRef, namespace: str | None, name: str, patch: Body) -> Body:
        result = await self.client.request(
            "PATCH",
            ref.path(namespace, name),
            params={"fieldManager": TEST_MANAGER},
            body=patch,
            content_type="application/merge-patch+json",
        )
        return result or {}

    async def get(self, ref: ResourceRef, namespace: str | None, name: str) -> Body | None:
        return await self.client.get(ref, namespace, name)

    async def must_get(self, ref: ResourceRef, namespace: str | None, name: str) -> Body:
        obj = await self.client.get(ref, namespace, name)
        assert obj is not None, f"{ref.kind} {namespace}/{name} does not exist"
        return obj

    async def list(self, ref: ResourceRef, namespace: str | None = None) -> list[Body]:
        return await self.client.list(ref, namespace)

    async def delete(self, ref: ResourceRef, namespace: str | None, name: str) -> None:
        await self.client.delete(ref, namespace, name)

    async def wait(
        self,
        ref: ResourceRef,
        namespace: str | None,
        name: str,
        check: Callable[[Body], bool] = lambda _: True,
        *,
        seconds: float = TIMEOUT,
    ) -> Body:
        """The object once it exists and ``check`` holds; fails with its last state after ``seconds``."""
        last: Body | None = None

        async def probe() -> Body | None:
            nonlocal last
            last = await self.get(ref, namespace, name)
            return last if last is not None and check(last) else None

        return await eventually(probe, seconds=seconds, what=lambda: f"{ref.kind} {namespace}/{name}: {last}")

    async def wait_gone(self, ref: ResourceRef, namespace: str | None, name: str) -> None:
        async def probe() -> bool:
            return await self.get(ref, namespace, name) is None

        await eventually(probe, what=lambda: f"{ref.kind} {namespace}/{name} to go")

    async def wait_ready(
        self, ref: ResourceRef, namespace: str | None, name: str, *, seconds: float = TIMEOUT
    ) -> Body:
        return await self.wait(
            ref, namespace, name, lambda o: condition(o, "Ready").get("status") == "True", seconds=seconds
        )

    async def wait_reason(
        self, ref: ResourceRef, namespace: str | None, name: str, status: str, reason: str
    ) -> Body:
        def check(obj: Body) -> bool:
            ready = condition(obj, "Ready")
            return (ready.get("status"), ready.get("reason")) == (status, reason) and observed(obj)

        return await self.wait(ref, namespace, name, check)


async def eventually(
    probe: Callable[[], Awaitable[Any]], *, seconds: float = TIMEOUT, what: Callable[[], str] | str = ""
) -> Any:
    """Poll ``probe`` until it returns something truthy, for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            text = what() if callable(what) else what
            raise AssertionError(f"timed out after {seconds:.0f}s waiting for {text}")
        await asyncio.sleep(0.05)


async def next_second(timestamp: str) -> None:
    """Until the clock is past ``timestamp``: API timestamps have a resolution of one second."""

    async def later() -> bool:
        return now_rfc3339() > timestamp

    await eventually(later, seconds=2, what=f"the clock to pass {timestamp}")


ALLOCATED = ("clusterIP", "clusterIPs")
"""Service fields the API server allocates anew for each object: a recreated child differs there."""


def without_allocated(spec: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (spec or {}).items() if k not in ALLOCATED}


def condition(obj: Mapping[str, Any], kind: str) -> dict[str, Any]:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return {}


def observed(obj: Mapping[str, Any]) -> bool:
    """Whether the status describes the object's current generation."""
    return bool((obj.get("status") or {}).get("observedGeneration") == obj["metadata"].get("generation"))


def tenant(name: str, **spec: Any) -> Body:
    body: Body = {
        "displayName": f"Agency {name}",
        "agency": "TEST",
        "owners": [{"kind": "Group", "name": f"{name}:admins"}],
    }
    body.update(spec)
    return {"apiVersion": API_VERSION, "kind": "WalletTenant", "metadata": {"name": name}, "spec": body}


def source(namespace: str, name: str, **spec: Any) -> Body:
    connector = {"image": IMAGE, "replicas": 1, **spec.pop("connector", {})}
    body: Body = {
        "documentType": "identity",
        "displayName": f"Source {name}",
        "upstream": {"url": "https://fsb.example.be/identity"},
        "connector": connector,
    }
    body.update(spec)
    return {
        "apiVersion": API_VERSION,
        "kind": "DocumentSource",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body,
    }


def route(namespace: str, name: str, host: str, path: str, backend: Body, **spec: Any) -> Body:
    body: Body = {
        "host": host,
        "pathPrefix": path,
        "backend": backend,
        "authentication": {"type": "none"},
    }
    body.update(spec)
    return {
        "apiVersion": API_VERSION,
        "kind": "GatewayRoute",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body,
    }


def service(namespace: str, name: str, port: int = 8080, **spec: Any) -> Body:
    body: Body = {"ports": [{"name": "http", "port": port}], **spec}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body,
    }


Cluster = DevCluster | ControlPlane
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def connection(cluster: Cluster, user: str = OPERATOR) -> kopf.ConnectionInfo:
    """Credentials for ``cluster``: the real server's user, or the dev cluster's (any) token."""
    if isinstance(cluster, ControlPlane):
        return cluster.connection(user)
    return kopf.ConnectionInfo(server=cluster.url, insecure=True)


class Operator:
    """One operator run in-process, on an event loop of its own in a thread.

    kopf cancels, when it stops, every task of its loop that was created after it started:
    on the tests' loop that would include the tests themselves. ``start`` again after
    ``stop`` runs a fresh operator (new runtime, nothing remembered).
    """

    def __init__(
        self, cluster: Cluster, config: PlatformConfig, options: OperatorOptions | None = None
    ) -> None:
        self.cluster = cluster
        self.config = config
        self.options = options or OperatorOptions(resync_seconds=RESYNC_SECONDS)
        self.runtime: Runtime | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._future: concurrent.futures.Future[None] | None = None

    async def start(self) -> None:
        credentials = connection(self.cluster)
        self.runtime = Runtime(
            config=self.config, connection=credentials, resync_seconds=self.options.resync_seconds
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="operator", daemon=True)
        self._thread.start()
        self._stop = asyncio.Event()
        ready = asyncio.Event()
        self._future = asyncio.run_coroutine_threadsafe(
            run_operator(
                self.config,
                credentials,
                self.options,
                stop_flag=self._stop,
                ready_flag=ready,
                runtime=self.runtime,
            ),
            self._loop,
        )
        await self.call(asyncio.wait_for(ready.wait(), TIMEOUT))
        await eventually(lambda: self.call(_started(self.runtime)), what="the operator's runtime")

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the operator's loop (the runtime is not thread-safe)."""
        assert self._loop is not None
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    async def stop(self) -> None:
        if self._loop is None or self._future is None or self._thread is None or self._stop is None:
            return
        self._loop.call_soon_threadsafe(self._stop.set)
        try:
            await asyncio.wait_for(asyncio.wrap_future(self._future), TIMEOUT)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            await asyncio.to_thread(self._thread.join, TIMEOUT)
            self._loop.close()
            self._loop = self._future = self._thread = self._stop = None

    async def idle(self) -> None:
        """Until the work queue has nothing queued, running or scheduled."""
        await self.call(_idle(self.runtime))

    async def resync(self) -> None:
        """Queue every resource, as the resync timer does, and wait until all are reconciled."""
        await self.call(_resync(self.runtime))


async def _started(runtime: Runtime | None) -> bool:
    return runtime is not None and runtime.context is not None


async def _idle(runtime: Runtime | None) -> None:
    assert runtime is not None
    assert runtime.context is not None
    await asyncio.wait_for(runtime.queue.wait_idle(), TIMEOUT)


async def _resync(runtime: Runtime | None) -> None:
    assert runtime is not None
    assert runtime.context is not None
    runtime.resync()
    await asyncio.wait_for(runtime.queue.wait_idle(), TIMEOUT)


@pytest.fixture(scope="module")
def platform_config() -> PlatformConfig:
    return parse_platform_config({})


@pytest.fixture(scope="module")
def available_deployments() -> bool:
    return True


@pytest.fixture(scope="module")
def cluster(control_plane: ControlPlane) -> ControlPlane:
    return control_plane


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def kube(cluster: ControlPlane, available_deployments: bool) -> AsyncIterator[Kube]:
    async with KubeClient(cluster.connection(ADMIN)) as client:
        kubelet = asyncio.create_task(FakeKubelet(client).run()) if available_deployments else None
        try:
            yield Kube(client)
        finally:
            if kubelet is not None:
                kubelet.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await kubelet


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def operator(
    cluster: ControlPlane, kube: Kube, platform_config: PlatformConfig
) -> AsyncIterator[Operator]:
    running = Operator(cluster, platform_config)
    await running.start()
    try:
        yield running
    finally:
        try:
            await clean_up(kube)
        finally:
            await running.stop()


async def clean_up(kube: Kube) -> None:
    """Delete the module's tenants (the running operator releases their finalizer) and every
    namespace the module made, so that the next module's operator starts on a clean cluster."""
    for obj in await kube.list(TENANTS):
        await kube.delete(TENANTS, None, obj["metadata"]["name"])
    await eventually(lambda: _none_left(kube), seconds=60, what="the module's WalletTenants to be deleted")
    for obj in await kube.list(NAMESPACES):
        name = obj["metadata"]["name"]
        if name not in SYSTEM_NAMESPACES and not obj["metadata"].get("deletionTimestamp"):
            await kube.delete(NAMESPACES, None, name)


async def _none_left(kube: Kube) -> bool:
    return not await kube.list(TENANTS)


async def onboard(kube: Kube, name: str, **spec: Any) -> Body:
    """A tenant, Ready; returns it."""
    await kube.apply(tenant(name, **spec))
    return await kube.wait_ready(TENANTS, None, name)


async def apply_when_possible(kube: Kube, obj: Body) -> Body:
    """Apply a namespaced object once its namespace exists (the operator creates it)."""
    result: Body = {}

    async def attempt() -> bool:
        nonlocal result
        try:
            result = await kube.apply(obj)
        except PermanentApiError as exc:
            if exc.status != 404:
                raise
            return False
        return True

    await eventually(attempt, what=f"namespace {obj['metadata'].get('namespace')} to accept objects")
    return result
