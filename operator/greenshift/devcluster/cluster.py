"""DevCluster: the embedded API server, run on a local port as an async context manager."""

import collections
import pathlib
from types import TracebackType
from typing import Any, Self

import aiohttp.web
import yaml

from .discovery import Registry, ResourceType
from .faults import Fault, FaultHook
from .objects import API_SERVER, ObjectApi, Validator
from .server import ApiServer
from .store import Store

NAME = "greenshift-dev"
BOOTSTRAP_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class DevCluster:
    """An in-memory Kubernetes API server for development, demos, integration tests and benchmarks.

    ::

        async with DevCluster(available_deployments=True) as cluster:
            cluster.write_kubeconfig(path)
            ...  # point kopf, kubectl or aiohttp at cluster.url

    :param available_deployments: act as the Deployment controller and kubelets: Deployments become
        available (status written through the status subresource) as soon as they are created or changed.
    :param validator: called with every object written; a non-empty list of messages rejects the write
        with 422 Invalid.
    :param faults: consulted before every write; see :mod:`greenshift.devcluster.faults`.
    :param strict_namespaces: reject namespaced objects in absent namespaces with 404, like a real
        server; False accepts them, for tests that do not bother creating namespaces.
    :param watch_history: how many watch events of each resource are kept for watches resuming
        from a resourceVersion; older ones get 410 Gone.
    :param bookmark_interval: seconds of idleness before a BOOKMARK on watches that allow them.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        available_deployments: bool = False,
        validator: Validator | None = None,
        faults: FaultHook | None = None,
        strict_namespaces: bool = True,
        watch_history: int = 10_000,
        bookmark_interval: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        api = ObjectApi(
            Registry(),
            Store(history=watch_history),
            validator=validator,
            available_deployments=available_deployments,
            strict_namespaces=strict_namespaces,
        )
        self.server = ApiServer(api=api, faults=faults, bookmark_interval=bookmark_interval)
        for namespace in BOOTSTRAP_NAMESPACES:
            api.create(self.resource("", "v1", "namespaces"), None, {"metadata": {"name": namespace}},
                       manager=API_SERVER)  # fmt: skip
        self._runner: aiohttp.web.ServerRunner | None = None

    @property
    def api(self) -> ObjectApi:
        """The server's state, for in-process inspection and set-up (bypasses HTTP, accounting, faults)."""
        return self.server.api

    @property
    def faults(self) -> FaultHook | None:
        return self.server.faults

    @faults.setter
    def faults(self, hook: FaultHook | None) -> None:
        self.server.faults = hook

    @property
    def watch_fault(self) -> Fault | None:
        """While set, every watch request is refused with this fault (after being counted)."""
        return self.server.watch_fault

    @watch_fault.setter
    def watch_fault(self, fault: Fault | None) -> None:
        self.server.watch_fault = fault

    @property
    def open_watches(self) -> int:
        """How many watch streams are being served now."""
        return len(self.server.open_watches)

    def drop_watches(self) -> int:
        """Close every open watch connection (as a failing network would); returns how many."""
        return self.server.drop_watches()

    def stall_watches(self, seconds: float) -> int:
        """Make every open watch send nothing, not even its end, for ``seconds``; returns how many."""
        return self.server.stall_watches(seconds)

    @property
    def request_counts(self) -> collections.Counter[tuple[str, str]]:
        """Requests served so far by (verb, resource), e.g. ``("patch-status", "deployments.apps")``."""
        return self.server.request_counts

    @property
    def url(self) -> str:
        if self._runner is None:
            raise RuntimeError("The dev cluster is not running.")
        return f"http://{self.host}:{self.port}"

    def resource(self, group: str, version: str, plural: str) -> ResourceType:
        rt = self.api.registry.get(group, version, plural)
        if rt is None:
            raise LookupError(f"unknown resource: {group}/{version}/{plural}")
        return rt

    async def start(self) -> None:
        server = aiohttp.web.Server(self.server, handler_cancellation=True)
        self._runner = aiohttp.web.ServerRunner(server, shutdown_timeout=1.0)
        await self._runner.setup()
        site = aiohttp.web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self.api.store.close()  # ends the watch streams, so that the shutdown does not wait for them
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def kubeconfig(self) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": NAME, "cluster": {"server": self.url, "insecure-skip-tls-verify": True}}],
            "users": [{"name": NAME, "user": {"token": "devcluster"}}],
            "contexts": [{"name": NAME, "context": {"cluster": NAME, "user": NAME, "namespace": "default"}}],
            "current-context": NAME,
            "preferences": {},
        }

    def write_kubeconfig(self, path: str | pathlib.Path) -> pathlib.Path:
        """Write a kubeconfig for this server (cluster, user and context all named ``greenshift-dev``)."""
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.kubeconfig(), sort_keys=False))
        return path
