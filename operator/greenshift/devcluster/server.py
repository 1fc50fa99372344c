"""The HTTP side of the dev cluster: kmock's KubernetesEmulator with its routing and storage replaced.

Requests are parsed into kmock requests (with a path parser that also understands
``/api/v1/namespaces``), then served by the ``_serve_*`` methods from :class:`ObjectApi` state.
"""

import asyncio
import collections
import dataclasses
import logging
import re
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp.web
import attrs
import orjson
import yaml
from kmock import KubernetesEmulator, KubernetesError, Request, action, resource
from kmock import Payload as KPayload
from typing_extensions import override

from . import errors
from .discovery import Registry, ResourceType
from .faults import Fault, FaultHook, WriteRequest
from .objects import ObjectApi
from .patching import PatchError, json_patch, merge_patch
from .selectors import Predicate, field_selector, label_selector
from .store import clone, encode, in_version

logger = logging.getLogger(__name__)

Obj = dict[str, Any]
MERGE_PATCHES = ("application/merge-patch+json", "application/strategic-merge-patch+json")
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
WRITES = ("create", "update", "patch", "apply", "delete", "deletecollection")
ACCOUNTING = "/_devcluster/requests"
_GROUP_VERSION = re.compile(r"^/(?:api/(?P<core>[^/]+)|apis/(?P<group>[^/]+)(?:/(?P<version>[^/]+))?)$")


@dataclasses.dataclass(frozen=True)
class Target:
    """What a resource URL points to."""

    group: str
    version: str
    plural: str
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None


def parse_path(path: str) -> Target | None:
    """Parse a resource URL; None for anything else (discovery and non-Kubernetes paths)."""
    parts = path.strip("/").split("/")
    if parts[0] == "api" and len(parts) >= 3:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis" and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace: str | None = None
    # /api/v1/namespaces/NAME/status is the namespace's own subresource, not a resource in it.
    namespace_subresource = group == "" and len(rest) == 3 and rest[2] in ("status", "finalize")
    if rest[0] == "namespaces" and len(rest) >= 3 and not namespace_subresource:
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3 or not all(rest):
        return None
    return Target(group, version, rest[0], namespace, *rest[1:])


MAX_LIST_CONTINUES = 64  # older tokens expire (410), as etcd compaction expires them on a real server


def _positive_int(raw: str | None) -> int:
    try:
        return max(0, int(raw or 0))
    except ValueError:
        raise errors.bad_request(f"limit must be an integer, not {raw!r}") from None


def _json_response(
    payload: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> aiohttp.web.Response:
    return aiohttp.web.Response(
        body=encode(payload), status=status, headers=headers, content_type="application/json"
    )


def _as_version(obj: Obj, rt: ResourceType) -> Obj:
    return in_version(obj, rt.api_version)


@dataclasses.dataclass(eq=False)
class OpenWatch:
    """One watch stream being served: its connection, and until when it is stalled (loop time)."""

    transport: asyncio.BaseTransport | None
    stalled_until: float = 0.0

    async def gate(self) -> None:
        """Hold the stream, sending nothing, while it is stalled."""
        loop = asyncio.get_running_loop()
        while (delay := self.stalled_until - loop.time()) > 0:  # noqa: ASYNC110 - a stall can be extended
            await asyncio.sleep(delay)


@attrs.define(kw_only=True)
class ApiServer(KubernetesEmulator):
    api: ObjectApi
    faults: FaultHook | None = None
    watch_fault: Fault | None = None
    bookmark_interval: float = 30.0
    request_counts: collections.Counter[tuple[str, str]] = attrs.field(factory=collections.Counter)
    open_watches: set[OpenWatch] = attrs.field(factory=set)
    # Paginated lists in progress: continue token -> (resourceVersion, the rest of the snapshot).
    list_continues: collections.OrderedDict[str, tuple[str, list[Obj]]] = attrs.field(
        factory=collections.OrderedDict
    )

    @property
    def registry(self) -> Registry:
        return self.api.registry

    @override
    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        # Unlike kmock, keep no history of requests: a benchmark sends hundreds of thousands.
        try:
            return await self._handle(await self._parse(raw_request))
        except Exception as exc:  # every failure reaches the client as a Status, as the real server does
            if not isinstance(exc, KubernetesError):
                logger.exception("Unexpected failure serving %s %s", raw_request.method, raw_request.path_qs)
            return await self._render_error(exc)

    @override
    async def _render_error(self, exc: Exception) -> aiohttp.web.StreamResponse:
        if isinstance(exc, errors.ApiError):
            error = exc
        elif isinstance(exc, KubernetesError):
            error = errors.ApiError(exc.status, exc.reason, exc.message, exc.details)
        else:
            error = errors.ApiError(500, "InternalError", repr(exc), {})
        return _json_response(error.as_status(), status=error.status, headers=error.headers)

    async def _parse(self, raw: aiohttp.web.BaseRequest) -> Request:
        body = await raw.read()
        data: Any = None
        if body and raw.content_type != APPLY_PATCH:
            try:
                data = orjson.loads(body)
            except ValueError as exc:
                raise errors.bad_request(f"the request body is not valid JSON: {exc}") from exc
        target = parse_path(raw.path)
        verb = (
            None
            if target is None
            else self._verb(raw.method, raw.query.get("watch"), target, raw.content_type)
        )
        kmock_action = {
            "list": action.LIST, "watch": action.WATCH, "get": action.FETCH, "create": action.CREATE,
            "patch": action.UPDATE, "apply": action.UPDATE, "delete": action.DELETE,
        }.get(verb or "")  # fmt: skip
        return Request(
            method=raw.method,
            url=raw.url,
            params=dict(raw.query),
            headers=dict(raw.headers),
            body=body,
            text=body.decode("utf-8", "replace"),
            data=data,
            action=kmock_action,
            resource=None if target is None else resource(target.group, target.version, target.plural),
            namespace=None if target is None else target.namespace,
            name=None if target is None else target.name,
            subresource=None if target is None else target.subresource,
            raw_request=raw,
        )

    @staticmethod
    def _verb(method: str, watch: str | None, target: Target, content_type: str) -> str:
        match method, target.name is None:
            case "GET", _ if watch in ("true", "1"):
                return "watch"
            case "GET", True:
                return "list"
            case "GET", False:
                return "get"
            case "POST", True:
                return "create"
            case "PUT", False:
                return "update"
            case "PATCH", False:
                return "apply" if content_type == APPLY_PATCH else "patch"
            case "DELETE", False:
                return "delete"
            case "DELETE", True:
                return "deletecollection"
        raise errors.method_not_allowed(method)

    def _resolve(self, request: Request) -> tuple[ResourceType, Target]:
        target = parse_path(request.url.path)
        rt = None if target is None else self.registry.get(target.group, target.version, target.plural)
        if target is None or rt is None:
            raise errors.no_such_route()
        if target.namespace is not None and not rt.namespaced:
            raise errors.no_such_route()
        if target.subresource is not None and (target.subresource != "status" or not rt.status):
            raise errors.no_such_route()
        return rt, target

    @override
    async def _handle(self, request: Request) -> aiohttp.web.StreamResponse:
        path = request.url.path.rstrip("/") or "/"
        if path.startswith("/_devcluster/"):
            return self._serve_accounting(request, path)
        if request.resource is None:
            if request.method != "GET":
                raise errors.method_not_allowed(request.method)
            self.request_counts["get", "discovery"] += 1
            return _json_response(await self._serve_discovery(request, path))

        rt, target = self._resolve(request)
        verb = self._verb(
            request.method, request.params.get("watch"), target, request.headers.get("Content-Type", "")
        )
        if rt.namespaced and target.namespace is None and verb not in ("list", "watch"):
            raise errors.no_such_route()
        counted = f"{verb}-{target.subresource}" if target.subresource else verb
        self.request_counts[counted, rt.name] += 1
        if verb in WRITES and request.params.get("dryRun"):
            raise errors.bad_request("the dev cluster does not support dry-run requests")
        if verb in WRITES and self.faults is not None:
            write = WriteRequest(counted, rt.name, target.namespace, target.name, self._body(request))
            fault = self.faults(write)
            if fault is not None:
                raise fault.error()

        serve: dict[str, Callable[[Request], Any]] = {
            "get": self._serve_fetch, "list": self._serve_list, "create": self._serve_create,
            "update": self._serve_replace, "patch": self._serve_update, "apply": self._serve_update,
            "delete": self._serve_delete, "deletecollection": self._serve_delete_collection,
        }  # fmt: skip
        if verb == "watch":
            if self.watch_fault is not None:
                raise self.watch_fault.error()
            self._selector(request, target)  # invalid parameters still get a plain Status, not a stream
            self._watch_params(request)
            return await self._stream(request, self._serve_watch_batches(request))
        payload = await serve[verb](request)
        return _json_response(payload, status=201 if verb == "create" else 200)

    def _serve_accounting(self, request: Request, path: str) -> aiohttp.web.StreamResponse:
        if path == f"{ACCOUNTING}/reset" and request.method == "POST":
            self.request_counts.clear()
        elif path != ACCOUNTING or request.method != "GET":
            raise errors.no_such_route()
        counts = [
            {"verb": verb, "resource": name, "count": count}
            for (verb, name), count in sorted(self.request_counts.items())
        ]
        return _json_response({"total": sum(self.request_counts.values()), "requests": counts})

    # Discovery.

    async def _serve_discovery(self, request: Request, path: str) -> KPayload:
        routes = {
            "/": self._serve_root,
            "/version": self._serve_server_version,
            "/api": self._serve_api,
            "/apis": self._serve_apis,
        }
        if path in routes:
            return await routes[path](request)
        match = _GROUP_VERSION.match(path)
        if match is None:
            raise errors.no_such_route()
        return await (self._serve_group(request) if match["group"] and not match["version"] else
                      self._serve_version(request))  # fmt: skip

    @override
    async def _serve_root(self, request: Request) -> KPayload:
        return {"paths": [*self.registry.paths(), ACCOUNTING]}

    @override
    async def _serve_server_version(self, request: Request) -> KPayload:
        return {
            "major": "1", "minor": "32", "gitVersion": "v1.32.0+greenshift-devcluster", "gitCommit": "",
            "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z", "goVersion": "",
            "compiler": "python", "platform": "linux/amd64",
        }  # fmt: skip

    @override
    async def _serve_api(self, request: Request) -> KPayload:
        return self.registry.api_versions()

    @override
    async def _serve_apis(self, request: Request) -> KPayload:
        return self.registry.api_group_list()

    @override
    async def _serve_group(self, request: Request) -> KPayload:
        group = self.registry.api_group(request.url.path.strip("/").split("/")[1])
        if group is None:
            raise errors.no_such_route()
        return group

    @override
    async def _serve_version(self, request: Request) -> KPayload:
        match = _GROUP_VERSION.match(request.url.path.rstrip("/"))
        assert match is not None  # routed here by the same pattern
        group, version = ("", match["core"]) if match["core"] else (match["group"], match["version"])
        resources = self.registry.api_resource_list(group, version)
        if resources is None:
            raise errors.no_such_route()
        return resources

    # Objects.

    def _selector(self, request: Request, target: Target) -> Predicate:
        predicates: list[Predicate] = []
        try:
            if request.params.get("labelSelector"):
                predicates.append(label_selector(request.params["labelSelector"]))
            if request.params.get("fieldSelector"):
                predicates.append(field_selector(request.params["fieldSelector"]))
        except ValueError as exc:
            raise errors.bad_request(str(exc)) from exc
        if target.namespace is not None:
            predicates.append(lambda obj: obj["metadata"].get("namespace") == target.namespace)
        if target.name is not None:
            predicates.append(lambda obj: obj["metadata"]["name"] == target.name)
        return lambda obj: all(predicate(obj) for predicate in predicates)

    @staticmethod
    def _manager(request: Request) -> str:
        user_agent = request.headers.get("User-Agent", "")
        return request.params.get("fieldManager") or user_agent.split("/")[0] or "unknown"

    @staticmethod
    def _body(request: Request) -> Any:
        if request.headers.get("Content-Type", "").startswith(APPLY_PATCH):
            # Clients (kubectl, client-go, kopf) send JSON, which is YAML: decode it as fast as a real server.
            try:
                return orjson.loads(request.body)
            except ValueError:
                pass
            try:
                return yaml.safe_load(request.text)
            except yaml.YAMLError as exc:
                raise errors.bad_request(f"the applied configuration is not valid YAML: {exc}") from exc
        return request.data

    @override
    async def _serve_fetch(self, request: Request) -> KPayload:
        rt, target = self._resolve(request)
        assert target.name is not None  # routed by the verb
        return _as_version(self.api.get(rt, target.namespace, target.name), rt)

    @override
    async def _serve_list(self, request: Request) -> KPayload:
        """A list, whole or in pages of ``limit`` items (``continue`` serves the same snapshot)."""
        rt, target = self._resolve(request)
        token = request.params.get("continue")
        if token:
            found = self.list_continues.pop(token, None)
            if found is None:
                raise errors.expired("The provided continue parameter is too old or unknown; list again.")
            version, items = found
        else:
            matches = self._selector(request, target)
            version = str(self.api.store.resource_version)
            items = [obj for obj in self.api.store.items(rt.key) if matches(obj)]
        meta: Obj = {"resourceVersion": version}
        limit = _positive_int(request.params.get("limit"))
        if limit and len(items) > limit:
            items, rest = items[:limit], items[limit:]
            token = secrets.token_urlsafe(12)
            self.list_continues[token] = (version, rest)
            while len(self.list_continues) > MAX_LIST_CONTINUES:
                self.list_continues.popitem(last=False)
            meta.update({"continue": token, "remainingItemCount": len(rest)})
        return {
            "kind": f"{rt.kind}List",
            "apiVersion": rt.api_version,
            "metadata": meta,
            "items": [_as_version(obj, rt) for obj in items],
        }

    @override
    async def _serve_create(self, request: Request) -> KPayload:
        rt, target = self._resolve(request)
        return _as_version(
            self.api.create(rt, target.namespace, request.data, manager=self._manager(request)), rt
        )

    async def _serve_replace(self, request: Request) -> KPayload:
        rt, target = self._resolve(request)
        assert target.name is not None  # routed by the verb
        body = request.data
        if not isinstance(body, dict) or (body.get("metadata") or {}).get("name") != target.name:
            raise errors.bad_request("the name of the object does not match the name on the URL")
        obj = self.api.update(
            rt, target.namespace, target.name, lambda _: clone(body), manager=self._manager(request),
            subresource=target.subresource, fields=body,
        )  # fmt: skip
        return _as_version(obj, rt)

    @override
    async def _serve_update(self, request: Request) -> KPayload:
        """PATCH in all its content types, including server-side apply."""
        rt, target = self._resolve(request)
        assert target.name is not None  # routed by the verb
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        body = self._body(request)
        manager = self._manager(request)
        mutate: Callable[[Obj], Obj]
        if content_type == APPLY_PATCH:
            if not request.params.get("fieldManager"):
                raise errors.bad_request("PATCH requests with apply content type must set the fieldManager")
            obj = self.api.apply(rt, target.namespace, target.name, body, manager=manager,
                                     subresource=target.subresource)  # fmt: skip
            return _as_version(obj, rt)
        if content_type in MERGE_PATCHES:
            mutate = lambda obj: merge_patch(obj, body)  # noqa: E731
        elif content_type == JSON_PATCH:
            mutate = lambda obj: json_patch(obj, body)  # noqa: E731
        else:
            raise errors.unsupported_media_type(content_type)
        try:
            obj = self.api.update(rt, target.namespace, target.name, mutate, manager=manager,
                                      subresource=target.subresource, fields=body)  # fmt: skip
        except PatchError as exc:
            raise errors.unprocessable(str(exc)) from exc
        return _as_version(obj, rt)

    @override
    async def _serve_delete(self, request: Request) -> KPayload:
        rt, target = self._resolve(request)
        assert target.name is not None  # routed by the verb
        return _as_version(self.api.delete(rt, target.namespace, target.name, self._propagation(request)), rt)

    async def _serve_delete_collection(self, request: Request) -> KPayload:
        rt, target = self._resolve(request)
        matches = self._selector(request, target)
        propagation = self._propagation(request)
        objs = [obj for obj in self.api.store.items(rt.key) if matches(obj)]
        names = [(obj["metadata"].get("namespace"), obj["metadata"]["name"]) for obj in objs]
        items = [self.api.delete(rt, namespace, name, propagation) for namespace, name in names]
        return {
            "kind": f"{rt.kind}List",
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(self.api.store.resource_version)},
            "items": [_as_version(obj, rt) for obj in items],
        }

    @staticmethod
    def _propagation(request: Request) -> str:
        options = request.data if isinstance(request.data, dict) else {}
        if options.get("orphanDependents") is True:
            return "Orphan"
        policy = request.params.get("propagationPolicy") or options.get("propagationPolicy") or "Background"
        return str(policy)

    # Watching.

    async def _serve_watch_batches(self, request: Request) -> AsyncIterator[list[bytes]]:
        """Events of one resource as JSON lines, in batches of those ready at once: initial ADDED
        events when no resourceVersion is given, then changes. A batch goes out in one write, as the
        real server flushes what its watch cache holds, rather than one socket write per event; an
        event's object is encoded once for all its watchers.

        A resourceVersion older than the event log yields one ERROR event with code 410, as the real
        server does. ``timeoutSeconds`` ends the stream; ``allowWatchBookmarks`` adds BOOKMARK events
        when idle for ``bookmark_interval`` seconds.
        """
        rt, target = self._resolve(request)
        store = self.api.store
        matches = self._selector(request, target)
        params = request.params
        loop = asyncio.get_running_loop()
        rv, timeout = self._watch_params(request)
        deadline = None if timeout is None else loop.time() + timeout
        bookmarks = params.get("allowWatchBookmarks") == "true"
        if rv == 0 or params.get("sendInitialEvents") == "true":
            rv = store.resource_version
            objects = [obj for obj in store.items(rt.key) if matches(obj)]
            initial = [encode({"type": "ADDED", "object": _as_version(obj, rt)}) for obj in objects]
            if params.get("sendInitialEvents") == "true":
                initial.append(encode(self._bookmark(rt, rv, initial_end=True)))
            if initial:
                yield initial

        while not store.closed:
            try:
                events = store.events_after(rt.key, rv)
            except LookupError as exc:
                yield [encode({"type": "ERROR", "object": errors.expired(str(exc)).as_status()})]
                return
            batch: list[bytes] = []
            for event in events:
                rv = event.rv
                now_in = matches(event.obj)
                was_in = event.old is not None and matches(event.old)
                kind = (
                    event.type if event.type == "DELETED" or (now_in and was_in) or event.type == "ADDED"
                    else "ADDED" if now_in else "DELETED"
                )  # fmt: skip
                if now_in or (was_in and event.type != "ADDED"):
                    line = b'{"type":"%s","object":%s}' % (kind.encode(), event.object_json(rt.api_version))
                    batch.append(line)
            if batch:
                yield batch
            if events:
                continue
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return
            wait = self.bookmark_interval if bookmarks else None
            if remaining is not None:
                wait = remaining if wait is None else min(wait, remaining)
            if not await store.wait(rt.key, wait) and bookmarks and not store.closed:
                yield [encode(self._bookmark(rt, rv))]

    @staticmethod
    def _watch_params(request: Request) -> tuple[int, float | None]:
        """The resourceVersion to watch after, and the timeout; checked before the stream starts."""
        since = request.params.get("resourceVersion") or "0"
        timeout = request.params.get("timeoutSeconds")
        try:
            return int(since), None if timeout is None else float(timeout)
        except ValueError as exc:
            raise errors.bad_request(f"invalid watch parameters: {exc}") from exc

    @staticmethod
    def _bookmark(rt: ResourceType, rv: int, *, initial_end: bool = False) -> Obj:
        meta: Obj = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {
            "type": "BOOKMARK",
            "object": {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta},
        }

    async def _stream(
        self, request: Request, batches: AsyncIterator[list[bytes]]
    ) -> aiohttp.web.StreamResponse:
        raw = request._raw_request
        assert raw is not None  # always set by _parse()
        response = aiohttp.web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(raw)
        watch = OpenWatch(raw.transport)
        self.open_watches.add(watch)
        try:
            async for batch in batches:
                await watch.gate()
                await response.write(b"\n".join(batch) + b"\n")
            await watch.gate()
            await response.write_eof()
        except ConnectionError:
            logger.debug("A watcher disconnected: %s", request.url)
        finally:
            self.open_watches.discard(watch)
        return response

    def drop_watches(self) -> int:
        """Close the connection of every open watch stream, as a failing network or proxy would."""
        dropped = list(self.open_watches)
        for watch in dropped:
            if watch.transport is not None:
                watch.transport.close()
        return len(dropped)

    def stall_watches(self, seconds: float) -> int:
        """Make every open watch stream send nothing for ``seconds`` without closing it.

        Events, bookmarks and the end of the stream at ``timeoutSeconds`` are all held back;
        watches opened afterwards are served normally.
        """
        until = asyncio.get_running_loop().time() + seconds
        for watch in self.open_watches:
            watch.stalled_until = max(watch.stalled_until, until)
        return len(self.open_watches)
