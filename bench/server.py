"""The API server the benchmark measures on: a real one (envtest), or the embedded dev cluster.

**Real** (the default when ``KUBEBUILDER_ASSETS`` names the binaries): etcd, kube-apiserver and
kube-controller-manager of :class:`greenshift.envtest.ControlPlane`, with TLS, token users and an
audit log of every write, plus the stand-in kubelet (``bench/kubelet.py``, its own process). The
benchmark talks to it as ``admin``, the operator as ``greenshift-operator``, the kubelet as
:data:`KUBELET_USER`: the audit log counts each one's writes on the server side. It records writes
only (not reads), so on the real server the request figures are writes.

**Embedded**: ``python -m greenshift.devcluster`` (Deployments available at once, no kubelet),
whose own accounting counts every request; the benchmark subtracts its own.

Each :class:`Server` is one measured run's cluster: the benchmark starts a fresh one for the
operator's run and another for the plain client's, so both start from the same empty state.
"""

import asyncio
import contextlib
import os
import shutil
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml

from client import BenchClient, RequestFailed
from fleet import PLATFORM_CONFIG
from greenshift.addon_crds import ADDONS, addon_crd, addon_kinds
from greenshift.config import load_platform_config
from greenshift.envtest import ADMIN, OPERATOR, AssetsMissing, ControlPlane, User, find_assets
from greenshift.envtest.kubelet import NODE_NAME
from greenshift.schemas import load_crds
from procs import BenchError, Child, Processes, child_pids, cpu_seconds, wait_quiet
from report import KUBELET_USER

Counts = dict[tuple[str, str], int]
CR_RESOURCES = ("wallettenants.greenshift.io", "documentsources.greenshift.io", "gatewayroutes.greenshift.io")
ADDON_CRDS_VARIABLE = "GREENSHIFT_ADDON_CRDS"
PLANE_BINARIES = {
    "kube-apiserver": "api_server",
    "etcd": "etcd",
    "kube-controller-manager": "controller_manager",
}


def choose(mode: str) -> tuple[str, str]:
    """``real`` or ``embedded`` for ``--server auto|real|embedded``, and why."""
    if mode == "embedded":
        return "embedded", "--server embedded"
    try:
        assets = find_assets()
    except AssetsMissing as exc:
        if mode == "real":
            raise BenchError(f"--server real: {exc}") from None
        return "embedded", f"no real API server ({exc})"
    return "real", f"KUBEBUILDER_ASSETS={assets}"


def addon_crds() -> tuple[list[dict[str, Any]], str]:
    """The add-ons' CRDs the fleet's platform configuration needs: the published ones from
    ``GREENSHIFT_ADDON_CRDS`` (``<group>_<plural>.yaml``) where given, else the stand-ins."""
    config = load_platform_config(str(PLATFORM_CONFIG))
    folder = Path(os.environ.get(ADDON_CRDS_VARIABLE, "") or "/nonexistent")
    crds, published, stand_ins = [], [], []
    for kind in addon_kinds(config):
        group, _, plural, _ = ADDONS[kind]
        path = folder / f"{group}_{plural}.yaml"
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d] if path.is_file() else []
        found = [d for d in docs if d.get("kind") == "CustomResourceDefinition"]
        if found:
            crds += found
            published.append(kind)
        else:
            crds.append(addon_crd(kind))
            stand_ins.append(kind)
    said = []
    if published:
        said.append(f"published CRDs of {', '.join(published)} ({ADDON_CRDS_VARIABLE})")
    if stand_ins:
        said.append(f"stand-in CRDs of {', '.join(stand_ins)}")
    return crds, "; ".join(said)


def audit_key(event: Mapping[str, Any]) -> tuple[str, str]:
    """An audit event as the dev cluster's accounting names a request: ``(verb[-subresource],
    resource[.group])``. A PATCH with ``force=true`` is a server-side apply (``apply``): the
    operator's and the benchmark's applies always force; their merge patches never do."""
    ref = event.get("objectRef") or {}
    verb = str(event.get("verb"))
    if verb == "patch":
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(str(event.get("requestURI", ""))).query)
        if query.get("force") == ["true"]:
            verb = "apply"
    if ref.get("subresource"):
        verb = f"{verb}-{ref['subresource']}"
    resource = str(ref.get("resource") or "")
    if ref.get("apiGroup"):
        resource = f"{resource}.{ref['apiGroup']}"
    return verb, resource


class AuditLog:
    """The API server's audit log read as it grows: writes by user since the last :meth:`mark`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""
        self.writes: dict[str, Counter[tuple[str, str]]] = {}
        self.refused: Counter[tuple[str, str, str, int]] = Counter()  # user, verb, resource, code

    def _read(self) -> None:
        with contextlib.suppress(FileNotFoundError), self.path.open("rb") as handle:
            handle.seek(self._offset)
            data = handle.read()
            self._offset += len(data)
            lines = (self._partial + data).split(b"\n")
            self._partial = lines.pop()
            for line in lines:
                if not line.strip():
                    continue
                event = orjson.loads(line)
                if event.get("stage") != "ResponseComplete":
                    continue
                user = str((event.get("user") or {}).get("username"))
                key = audit_key(event)
                self.writes.setdefault(user, Counter())[key] += 1
                code = int((event.get("responseStatus") or {}).get("code") or 0)
                if code >= 400:
                    self.refused[user, *key, code] += 1

    def mark(self) -> None:
        self._read()
        self.writes.clear()
        self.refused.clear()

    def by(self, user: str) -> Counts:
        self._read()
        return dict(self.writes.get(user, {}))

    def totals(self) -> dict[str, int]:
        self._read()
        return {user: sum(counts.values()) for user, counts in sorted(self.writes.items())}

    def refusals(self) -> list[dict[str, Any]]:
        self._read()
        return [
            {"user": u, "verb": v, "resource": r, "code": c, "count": n}
            for (u, v, r, c), n in sorted(self.refused.items())
        ]


class Server:
    real: bool
    short: str  # for the table
    description: str
    client: BenchClient
    operator_kubeconfig: Path

    def pids(self) -> dict[str, int]:
        """The processes of the cluster whose CPU the benchmark reports, by role."""
        raise NotImplementedError

    def cpu(self) -> dict[str, float]:
        out = {}
        for role, pid in self.pids().items():
            with contextlib.suppress(OSError):
                out[role] = cpu_seconds(pid)
        return out

    async def reset_accounting(self) -> None:
        raise NotImplementedError

    async def operator_counts(self) -> Counts:
        """The operator's requests since the last reset (on the real server: its writes)."""
        raise NotImplementedError

    async def everybody_counts(self) -> Counts:
        """Every client's requests since the last reset (the plain client's run: only the client)."""
        raise NotImplementedError

    async def writers(self) -> dict[str, Any]:
        """Writes by user since the last reset, and the refused ones (real server only)."""
        return {}

    async def wait_watching(self, operator: Child, http_port: int, within: float) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class EmbeddedServer(Server):
    real = False

    def __init__(self, procs: Processes, cluster: Child, url: str, kubeconfig: Path) -> None:
        self.procs = procs
        self.cluster = cluster
        self.client = BenchClient(url)
        self.operator_kubeconfig = kubeconfig
        self.short = "embedded"
        self.description = "embedded API server (greenshift.devcluster), Deployments available at once"

    @classmethod
    async def open(cls, procs: Processes, work: Path, name: str) -> "EmbeddedServer":
        kubeconfig = work / f"{name}.kubeconfig"
        cluster, url = await procs.devcluster(kubeconfig, f"devcluster-{name}.log")
        server = cls(procs, cluster, url, kubeconfig)
        config = load_platform_config(str(PLATFORM_CONFIG))
        for crd in [*load_crds(), *(addon_crd(kind) for kind in addon_kinds(config))]:
            await server.client.apply_crd(crd)
        return server

    def pids(self) -> dict[str, int]:
        return {"api_server": self.cluster.pid}

    async def reset_accounting(self) -> None:
        await self.client.reset_accounting()

    async def operator_counts(self) -> Counts:
        return await self.client.operator_counts()

    async def everybody_counts(self) -> Counts:
        return await self.client.accounting()

    async def wait_watching(self, operator: Child, http_port: int, within: float) -> None:
        """Until the operator watches the three custom resource kinds (the server's accounting)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            operator.check()
            counts = await self.client.accounting()
            if all(counts.get(("watch", resource), 0) > 0 for resource in CR_RESOURCES):
                return
            await asyncio.sleep(0.2)
        raise BenchError(f"the operator did not watch the custom resources within {within:.0f}s")

    async def close(self) -> None:
        await self.client.close()
        await self.procs.stop(self.cluster)


class RealServer(Server):
    real = True

    def __init__(
        self, procs: Processes, plane: ControlPlane, work: Path, name: str, stop: Callable[[], None]
    ) -> None:
        self.procs = procs
        self.plane = plane
        self._stop = stop
        self.work = work
        self.name = name
        self.kubelet: Child | None = None
        self.audit = AuditLog(plane.audit_path)
        self.client = BenchClient(plane.url, ca_path=str(plane.ca_path), token=plane.token(ADMIN))
        self.operator_kubeconfig = plane.write_kubeconfig(work / f"{name}-operator.kubeconfig", OPERATOR)
        plane.write_kubeconfig(work / f"{name}-admin.kubeconfig", ADMIN)
        self._pids: dict[str, int] = {}
        self.short = self.description = "real API server"

    @classmethod
    async def open(
        cls, procs: Processes, work: Path, name: str, *, kubelet_concurrency: int, controller_manager_qps: int
    ) -> "RealServer":
        crds, addons = addon_crds()
        # The controller manager's client limit raised: by default it sends at most 20 requests a
        # second per controller (burst 30), a limit clusters of thousands of objects raise, and
        # that would otherwise pace every Deployment of the fleet.
        qps = controller_manager_qps
        plane = ControlPlane(
            find_assets(),
            users=[User(KUBELET_USER, ("system:masters",))],
            crds=[*load_crds(), *crds],
            audit=True,
            controller_manager_args=(f"--kube-api-qps={qps}", f"--kube-api-burst={2 * qps}")
            if qps > 0
            else (),
        )
        stop = cls._stopper(plane, work, name)
        procs.cleanups.append(stop)
        try:
            # In this thread, the event loop's: the components end with the thread that started
            # them (PR_SET_PDEATHSIG), and nothing else runs meanwhile. Ctrl-C cancels the next await.
            plane.start()
        except Exception as exc:
            raise BenchError(f"the control plane did not start: {exc}") from exc
        server = cls(procs, plane, work, name, stop)
        try:
            version = (await server.client.get("/version")).get("gitVersion", "?")
            server.short = f"kube-apiserver {version}"
            server.description = (
                f"kube-apiserver {version} + etcd + kube-controller-manager (client QPS "
                f"{controller_manager_qps or 'default'}), fake kubelet; {addons}"
            )
            kubeconfig = plane.write_kubeconfig(work / f"{name}-kubelet.kubeconfig", KUBELET_USER)
            server.kubelet = await procs.kubelet(
                kubeconfig, f"kubelet-{name}.log", concurrency=kubelet_concurrency
            )
            await server._wait_node(30.0)
            found = child_pids(tuple(PLANE_BINARIES), str(plane.folder))
            server._pids = {PLANE_BINARIES[binary]: pid for binary, pid in found.items()}
            server._pids["kubelet"] = server.kubelet.pid
        except BaseException:
            await server.close()
            raise
        return server

    @staticmethod
    def _stopper(plane: ControlPlane, work: Path, name: str) -> Callable[[], None]:
        """Stops the plane (its folder goes with it), keeping the components' logs in ``work``."""

        def stop() -> None:
            for component in ("etcd", "kube-apiserver", "kube-controller-manager"):
                with contextlib.suppress(OSError):
                    shutil.copyfile(plane.folder / f"{component}.log", work / f"{name}-{component}.log")
            plane.stop()

        return stop

    async def _wait_node(self, within: float) -> None:
        """Until the stand-in kubelet has registered its Node."""
        deadline = time.monotonic() + within
        while True:
            assert self.kubelet is not None
            self.kubelet.check()
            with contextlib.suppress(RequestFailed):
                await self.client.get(f"/api/v1/nodes/{NODE_NAME}")
                return
            if time.monotonic() > deadline:
                raise BenchError(f"the fake kubelet registered no Node within {within:.0f}s")
            await asyncio.sleep(0.1)

    def pids(self) -> dict[str, int]:
        return dict(self._pids)

    async def reset_accounting(self) -> None:
        await asyncio.to_thread(self.audit.mark)

    async def operator_counts(self) -> Counts:
        return await asyncio.to_thread(self.audit.by, OPERATOR)

    async def everybody_counts(self) -> Counts:
        return await asyncio.to_thread(self.audit.by, ADMIN)

    async def writers(self) -> dict[str, Any]:
        return {
            "writes_by_user": await asyncio.to_thread(self.audit.totals),
            "refused": await asyncio.to_thread(self.audit.refusals),
        }

    async def wait_watching(self, operator: Child, http_port: int, within: float) -> None:
        """Until the operator answers its /healthz (its informers have started); the audit log has
        no reads, and the controller manager watches every resource too."""
        deadline = time.monotonic() + within
        url = f"http://127.0.0.1:{http_port}/healthz"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while time.monotonic() < deadline:
                operator.check()
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(url) as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.2)
        raise BenchError(f"the operator's /healthz did not answer within {within:.0f}s")

    async def close(self) -> None:
        await self.client.close()
        if self.kubelet is not None:
            await self.procs.stop(self.kubelet)
        if self._stop in self.procs.cleanups:
            self.procs.cleanups.remove(self._stop)
            await asyncio.to_thread(self._stop)


async def open_server(kind: str, procs: Processes, work: Path, name: str, args: Any) -> Server:
    """A fresh cluster for one measured run, its CRDs installed, once it has settled."""
    server: Server
    if kind == "real":
        qps = args.controller_manager_qps
        server = await RealServer.open(
            procs, work, name, kubelet_concurrency=args.workers, controller_manager_qps=qps
        )
    else:
        server = await EmbeddedServer.open(procs, work, name)
    if not await wait_quiet(list(server.pids().values())):
        print(f"{name}: the {server.short} cluster was still busy 30 s after it started", flush=True)
    return server
