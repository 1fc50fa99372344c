"""A plain aiohttp client for the benchmark: apply, patch, watch, and the dev cluster's accounting.

It counts its own requests by (verb, resource), named as the dev cluster counts them, so that the
benchmark can subtract them from the dev cluster's figures and report the operator's requests alone
(on the real API server the audit log names who wrote, see ``server.py``).
"""

import asyncio
import collections
import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from greenshift.kube import ref_for, ref_of_kind
from greenshift.kube.resources import ResourceRef

Body = dict[str, Any]
APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
FIELD_MANAGER = "greenshift-bench"


class RequestFailed(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


def resource_name(ref: ResourceRef) -> str:
    """The name the dev cluster's accounting uses: plural for the core group, plural.group otherwise."""
    return f"{ref.plural}.{ref.group}" if ref.group else ref.plural


class BenchClient:
    """A client of ``server``; over TLS with ``ca_path`` (the server's CA) and a bearer ``token``."""

    def __init__(
        self, server: str, *, limit: int = 0, ca_path: str | None = None, token: str | None = None
    ) -> None:
        self.server = server.rstrip("/")
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()
        context = ssl.create_default_context(cafile=ca_path) if ca_path else None
        connector = aiohttp.TCPConnector(limit=limit, force_close=False, ssl=context or True)
        headers = {"Accept": "application/json", "User-Agent": "greenshift-bench"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._session = aiohttp.ClientSession(
            connector=connector, headers=headers, timeout=aiohttp.ClientTimeout(total=60)
        )

    async def close(self) -> None:
        await self._session.close()

    async def _call(
        self,
        method: str,
        path: str,
        verb: str,
        resource: str,
        *,
        body: Any = None,
        ctype: str = "",
        **params: str,
    ) -> Body:
        self.counts[verb, resource] += 1
        data = None if body is None else orjson.dumps(body)
        headers = {"Content-Type": ctype} if ctype else {}
        async with self._session.request(
            method, self.server + path, params=params or None, data=data, headers=headers
        ) as response:
            raw = await response.read()
            if response.status >= 400:
                raise RequestFailed(response.status, raw[:300].decode("utf-8", errors="replace"))
            result: Body = orjson.loads(raw) if raw else {}
            return result

    async def apply(self, obj: Body, *, manager: str = FIELD_MANAGER) -> Body:
        """Server-side apply, as ``kubectl apply --server-side --force-conflicts`` does."""
        ref = ref_for(obj)
        meta = obj["metadata"]
        path = ref.path(meta.get("namespace"), meta["name"])
        return await self._call(
            "PATCH",
            path,
            "apply",
            resource_name(ref),
            body=obj,
            ctype=APPLY,
            fieldManager=manager,
            force="true",
        )

    async def apply_crd(self, crd: Body) -> Body:
        ref = ref_of_kind("apiextensions.k8s.io/v1", "CustomResourceDefinition")
        path = ref.path(None, crd["metadata"]["name"])
        return await self._call(
            "PATCH", path, "apply", resource_name(ref), body=crd, ctype=APPLY, fieldManager=FIELD_MANAGER
        )

    async def merge_patch(self, ref: ResourceRef, namespace: str | None, name: str, patch: Body) -> Body:
        path = ref.path(namespace, name)
        return await self._call("PATCH", path, "patch", resource_name(ref), body=patch, ctype=MERGE)

    async def list(self, ref: ResourceRef) -> Body:
        return await self._call("GET", ref.path(), "list", resource_name(ref))

    async def get(self, path: str) -> Body:
        """A GET of any path (``/version``, a CRD), not counted: the server's set-up, not the run."""
        async with self._session.get(self.server + path) as response:
            raw = await response.read()
            if response.status >= 400:
                raise RequestFailed(response.status, raw[:300].decode("utf-8", errors="replace"))
            result: Body = orjson.loads(raw) if raw else {}
            return result

    async def watch(self, ref: ResourceRef, resource_version: str) -> AsyncIterator[Body]:
        """Events of one resource after ``resource_version``, until the server ends the stream."""
        self.counts["watch", resource_name(ref)] += 1
        params = {"watch": "true", "resourceVersion": resource_version, "timeoutSeconds": "3600"}
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with self._session.get(self.server + ref.path(), params=params, timeout=timeout) as response:
            if response.status >= 400:
                raise RequestFailed(response.status, (await response.text())[:300])
            async for line in response.content:
                if line.strip():
                    yield orjson.loads(line)

    async def accounting(self) -> dict[tuple[str, str], int]:
        async with self._session.get(self.server + "/_devcluster/requests") as response:
            payload = await response.json()
        return {(r["verb"], r["resource"]): int(r["count"]) for r in payload["requests"]}

    async def reset_accounting(self) -> None:
        async with self._session.post(self.server + "/_devcluster/requests/reset") as response:
            await response.read()
        self.counts.clear()

    async def operator_counts(self) -> dict[tuple[str, str], int]:
        """The server's counts minus this client's own requests: what everybody else sent."""
        server = await self.accounting()
        return {k: v - self.counts.get(k, 0) for k, v in server.items() if v - self.counts.get(k, 0) > 0}


async def bounded(limit: int, jobs: list[Any]) -> list[Any]:
    """Run coroutines with at most ``limit`` in flight, results in order."""
    semaphore = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with semaphore:
            return await job

    return list(await asyncio.gather(*(one(job) for job in jobs)))
