"""What the API server does around storage: metadata, generations, managedFields, defaulting and
validation, the status subresource, finalizers, owner-reference garbage collection, namespaces,
CRD registration, and (optionally) the Deployment controller's status."""

import datetime
import secrets
import string
import uuid
from collections.abc import Callable
from typing import Any

from greenshift.defaulting import default_in_place

from . import errors
from .discovery import Registry, ResourceType
from .patching import apply_config, fields_v1
from .store import ObjectKey, Store, clone

Obj = dict[str, Any]
Validator = Callable[[Obj], list[str]]
Mutation = Callable[[Obj], Obj]

# Metadata that only the server sets: a client's write can never change it.
SERVER_METADATA = (
    "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "name",
    "namespace", "resourceVersion", "managedFields",
)  # fmt: skip
API_SERVER = "kube-apiserver"
CONTROLLER_MANAGER = "kube-controller-manager"


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _without(obj: Obj, *fields: str) -> Obj:
    return {key: value for key, value in obj.items() if key not in fields}


def _same(old: Obj, new: Obj) -> bool:
    """Whether a write changes nothing, ignoring what the server itself refreshes on every write."""
    ignored = ("resourceVersion", "managedFields")
    return _without(old, "metadata") == _without(new, "metadata") and _without(
        old["metadata"], *ignored
    ) == _without(new["metadata"], *ignored)


class ObjectApi:
    def __init__(
        self,
        registry: Registry,
        store: Store,
        *,
        validator: Validator | None = None,
        available_deployments: bool = False,
        strict_namespaces: bool = True,
    ) -> None:
        self.registry = registry
        self.store = store
        self.validator = validator
        self.available_deployments = available_deployments
        self.strict_namespaces = strict_namespaces
        self._applied: dict[tuple[ObjectKey, str, str], Obj] = {}  # (key, manager, subresource) -> config

    def key(self, rt: ResourceType, namespace: str | None, name: str) -> ObjectKey:
        return rt.group, rt.plural, (namespace or "") if rt.namespaced else "", name

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        obj = self.store.get(self.key(rt, namespace, name))
        if obj is None:
            raise errors.not_found(rt.plural, name, rt.group)
        return obj

    # Writes.

    def create(
        self, rt: ResourceType, namespace: str | None, body: Any, *, manager: str, operation: str = "Update"
    ) -> Obj:
        if not isinstance(body, dict) or not isinstance(body.get("metadata", {}), dict):
            raise errors.bad_request("the body must be an object with an object as metadata")
        obj = clone(body)
        meta: Obj = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            suffix = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(5))
            meta["name"] = meta["generateName"] + suffix
        name = meta.get("name")
        if not name or not isinstance(name, str):
            raise errors.invalid(
                rt.kind, "", rt.group, ["metadata.name: Required value: name or generateName is required"]
            )
        if rt.namespaced:
            if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            namespace = namespace or meta.get("namespace")
            if not namespace:
                raise errors.bad_request("a namespaced object needs a namespace")
            self._check_namespace(namespace)
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        key = self.key(rt, namespace, name)
        if self.store.get(key) is not None:
            raise errors.already_exists(rt.plural, name, rt.group)

        for field in SERVER_METADATA:
            if field not in ("name", "namespace"):
                meta.pop(field, None)
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=now(), generation=1)
        obj = {"apiVersion": rt.api_version, "kind": rt.kind, **_without(obj, "apiVersion", "kind")}
        if rt.status:
            obj.pop("status", None)  # as the real server: a create cannot set the status
        if rt.key == ("", "namespaces"):
            obj["status"] = {"phase": "Active"}
        if rt.key == ("apps", "deployments"):
            obj.setdefault("spec", {}).setdefault("replicas", 1)
        obj = self._default_and_validate(rt, obj)
        self._record_manager(rt, obj, manager, operation, None, body)
        stored = self.store.put(key, obj)
        self._react(rt, key, stored)
        return stored

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        mutate: Mutation,
        *,
        manager: str,
        operation: str = "Update",
        subresource: str | None = None,
        fields: Any = None,
    ) -> Obj:
        """Read-modify-write one object; the mutation sees a deep copy of the stored object.

        A mutated ``metadata.resourceVersion`` that differs from the stored one is a failed
        precondition (409 Conflict), as it is for a PUT or PATCH carrying an outdated version.
        """
        key = self.key(rt, namespace, name)
        old = self.store.get(key)
        if old is None:
            raise errors.not_found(rt.plural, name, rt.group)
        candidate = mutate(clone(old))
        if not isinstance(candidate, dict) or not isinstance(candidate.get("metadata", {}), dict):
            raise errors.bad_request("the result must be an object with an object as metadata")
        wanted_rv = candidate.get("metadata", {}).get("resourceVersion")
        if wanted_rv is not None and wanted_rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.plural, name, rt.group)

        # The status subresource writes only the status; the main endpoint never writes it.
        if subresource == "status":
            new = clone(old)
            new.pop("status", None)
            if "status" in candidate:
                new["status"] = candidate["status"]
        else:
            new = candidate
            if rt.status:
                new.pop("status", None)
                if "status" in old:
                    new["status"] = clone(old["status"])

        meta = new.setdefault("metadata", {})
        for field in SERVER_METADATA:
            meta.pop(field, None)
            if field in old["metadata"]:
                meta[field] = clone(old["metadata"][field])
        new = {"apiVersion": rt.api_version, "kind": rt.kind, **_without(new, "apiVersion", "kind")}
        if meta.get("deletionTimestamp") and not set(meta.get("finalizers") or []) <= set(
            old["metadata"].get("finalizers") or []
        ):
            message = "metadata.finalizers: Forbidden: no new finalizers can be added while being deleted"
            raise errors.invalid(rt.kind, name, rt.group, [message])
        new = self._default_and_validate(rt, new)
        if _same(old, new):
            return old  # no write, no new resourceVersion, no event: like the real server

        ignored = ("metadata",) + (("status",) if rt.status else ())
        if _without(old, *ignored) != _without(new, *ignored):
            new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
        self._record_manager(rt, new, manager, operation, subresource, fields)
        stored = self.store.put(key, new)
        if stored["metadata"].get("deletionTimestamp") and not stored["metadata"].get("finalizers"):
            return self._remove(key)
        self._react(rt, key, stored)
        return stored

    def apply(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        config: Any,
        *,
        manager: str,
        subresource: str | None = None,
    ) -> Obj:
        """Server-side apply: create when absent, else merge and drop what this manager no longer applies."""
        if not isinstance(config, dict) or not isinstance(config.get("metadata", {}), dict):
            raise errors.bad_request("the applied configuration must be an object")
        if config.get("metadata", {}).get("name", name) != name:
            raise errors.bad_request("the name of the object does not match the name on the URL")
        key = self.key(rt, namespace, name)
        if self.store.get(key) is None:
            if subresource is not None:
                raise errors.not_found(rt.plural, name, rt.group)
            body = {**config, "metadata": {**config.get("metadata", {}), "name": name}}  # create copies it
            stored = self.create(rt, namespace, body, manager=manager, operation="Apply")
        else:
            previous = self._applied.get((key, manager, subresource or ""))
            stored = self.update(
                rt, namespace, name, lambda live: apply_config(live, config, previous),
                manager=manager, operation="Apply", subresource=subresource, fields=config,
            )  # fmt: skip
        if self.store.get(key) is not None:
            self._applied[key, manager, subresource or ""] = clone(config)
        return stored

    def delete(
        self, rt: ResourceType, namespace: str | None, name: str, propagation: str = "Background"
    ) -> Obj:
        """Delete now, or mark for deletion while finalizers (or a namespace's contents) remain.

        Foreground is treated like Background: the owner goes first, then its dependents.
        Orphan removes the owner's references from its dependents instead of deleting them.
        """
        if propagation not in ("Background", "Foreground", "Orphan"):
            raise errors.bad_request(f"unsupported propagationPolicy: {propagation!r}")
        key = self.key(rt, namespace, name)
        obj = self.store.get(key)
        if obj is None:
            raise errors.not_found(rt.plural, name, rt.group)
        uid = obj["metadata"]["uid"]
        if propagation == "Orphan":
            for dependent in self.store.dependents(uid):
                self._drop_owner(dependent, uid)
        if obj["metadata"].get("deletionTimestamp"):
            return obj
        is_namespace = rt.key == ("", "namespaces")
        if not obj["metadata"].get("finalizers") and not is_namespace:
            return self._remove(key)

        def mark(live: Obj) -> Obj:
            live["metadata"]["deletionTimestamp"] = now()
            if is_namespace:
                live["status"] = {"phase": "Terminating"}
            return live

        # The deletion timestamp is server-set metadata: write it past the client-facing mutation rules.
        marked = self._server_write(key, mark)
        if is_namespace:
            for dependent in self.store.in_namespace(name):
                self._delete_key(dependent)
            return self._finish_namespace(name) or marked
        return marked

    # Internals.

    def _server_write(self, key: ObjectKey, mutate: Mutation) -> Obj:
        old = self.store.get(key)
        assert old is not None  # callers write existing objects only
        new = mutate(clone(old))
        new["metadata"]["generation"] = old["metadata"].get("generation", 1)
        return self.store.put(key, new)

    def _delete_key(self, key: ObjectKey) -> None:
        """Delete an object if it still exists (a cascade may have taken it already)."""
        rt = self._type_of(key)
        if rt is not None:
            self.delete(rt, key[2] or None, key[3])

    def _type_of(self, key: ObjectKey) -> ResourceType | None:
        obj = self.store.get(key)
        if obj is None:
            return None
        group, _, version = obj["apiVersion"].rpartition("/")
        return self.registry.get(group, version, key[1])

    def _remove(self, key: ObjectKey) -> Obj:
        """Remove for good, then collect dependents, custom objects of a CRD, an emptied namespace."""
        rt = self._type_of(key)
        final = self.store.remove(key)
        for applied in [k for k in self._applied if k[0] == key]:
            del self._applied[applied]
        uid = final["metadata"]["uid"]
        for dependent in self.store.dependents(uid):
            obj = self.store.get(dependent)
            if obj is None:
                continue
            owners = {ref.get("uid") for ref in obj["metadata"].get("ownerReferences") or []} - {uid}
            if any(self.store.key_of_uid(owner) is not None for owner in owners):
                self._drop_owner(dependent, uid)
            else:
                self._delete_key(dependent)
        if rt is not None and rt.is_crd:
            # Custom objects go with their CRD, finalizers or not (a real server waits for them).
            for group, plural in {custom.key for custom in self.registry.unregister_crd(key[3])}:
                for obj in self.store.items((group, plural)):
                    self._remove(
                        (group, plural, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
                    )
        if key[2]:
            self._finish_namespace(key[2])
        return final

    def _drop_owner(self, key: ObjectKey, uid: str) -> None:
        def drop(live: Obj) -> Obj:
            refs = [ref for ref in live["metadata"].get("ownerReferences") or [] if ref.get("uid") != uid]
            live["metadata"].pop("ownerReferences", None)
            if refs:
                live["metadata"]["ownerReferences"] = refs
            return live

        self._server_write(key, drop)

    def _finish_namespace(self, name: str) -> Obj | None:
        """Remove a terminating namespace once it is empty and has no finalizers left."""
        key: ObjectKey = ("", "namespaces", "", name)
        namespace = self.store.get(key)
        if namespace is None or not namespace["metadata"].get("deletionTimestamp"):
            return None
        if namespace["metadata"].get("finalizers") or self.store.in_namespace(name):
            return None
        return self._remove(key)

    def _check_namespace(self, namespace: str) -> None:
        obj = self.store.get(("", "namespaces", "", namespace))
        if obj is None:
            if self.strict_namespaces:
                raise errors.not_found("namespaces", namespace)
        elif obj["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(
                f"unable to create new content in namespace {namespace} because it is being terminated"
            )

    def _default_and_validate(self, rt: ResourceType, obj: Obj) -> Obj:
        if rt.schema is not None:
            obj = default_in_place(rt.schema, obj)  # the callers' own copy
        if self.validator is not None:
            messages = self.validator(obj)
            if messages:
                raise errors.invalid(rt.kind, obj["metadata"].get("name", ""), rt.group, messages)
        return obj

    def _record_manager(
        self, rt: ResourceType, obj: Obj, manager: str, operation: str, subresource: str | None, fields: Any
    ) -> None:
        entry: Obj = {
            "manager": manager,
            "operation": operation,
            "apiVersion": rt.api_version,
            "time": now(),
            "fieldsType": "FieldsV1",
            "fieldsV1": fields_v1(_without(fields, "apiVersion", "kind") if isinstance(fields, dict) else {}),
        }
        if subresource:
            entry["subresource"] = subresource
        same = (manager, operation, subresource)
        entries = [
            e for e in obj["metadata"].get("managedFields") or []
            if (e.get("manager"), e.get("operation"), e.get("subresource")) != same
        ]  # fmt: skip
        obj["metadata"]["managedFields"] = [*entries, entry]

    def _react(self, rt: ResourceType, key: ObjectKey, obj: Obj) -> None:
        """What other control-plane components do right after a write."""
        refs = obj["metadata"].get("ownerReferences") or []
        if refs and all(self.store.key_of_uid(ref.get("uid")) is None for ref in refs):
            self._delete_key(key)  # the garbage collector: every owner it names is gone
            return
        if rt.is_crd:
            self.registry.register_crd(obj)
            names = obj.get("spec", {}).get("names", {})
            established = [
                {"type": kind, "status": "True", "reason": reason, "message": "", "lastTransitionTime": now()}
                for kind, reason in (
                    ("NamesAccepted", "NoConflicts"),
                    ("Established", "InitialNamesAccepted"),
                )
            ]
            if obj.get("status", {}).get("acceptedNames") != names:
                stored = [v["name"] for v in obj.get("spec", {}).get("versions", []) if v.get("storage")]
                status = {"conditions": established, "acceptedNames": names, "storedVersions": stored}
                self.update(
                    rt, None, key[3], lambda live: {**live, "status": status},
                    manager=API_SERVER, subresource="status", fields={"status": status},
                )  # fmt: skip
        elif rt.key == ("", "resourcequotas"):
            hard = (obj.get("spec") or {}).get("hard") or {}
            used = (obj.get("status") or {}).get("used") or {}
            if (obj.get("status") or {}).get("hard") != hard or not set(hard) <= set(used):
                # The quota controller takes it up; usage is not computed here: 0 until counted.
                status = {"hard": hard, "used": {resource: used.get(resource, "0") for resource in hard}}
                self.update(
                    rt, key[2], key[3], lambda live: {**live, "status": status},
                    manager=CONTROLLER_MANAGER, subresource="status", fields={"status": status},
                )  # fmt: skip
        elif self.available_deployments and rt.key == ("apps", "deployments"):
            generation = obj["metadata"].get("generation", 1)
            if obj.get("status", {}).get("observedGeneration") != generation:
                status = _available_status(obj)
                self.update(
                    rt, key[2], key[3], lambda live: {**live, "status": status},
                    manager=CONTROLLER_MANAGER, subresource="status", fields={"status": status},
                )  # fmt: skip


def _available_status(deployment: Obj) -> Obj:
    """The status the Deployment controller and kubelets reach once every replica is up."""
    replicas = (deployment.get("spec") or {}).get("replicas", 1)
    timestamp = now()
    conditions = [
        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
         "message": "Deployment has minimum availability.", "lastUpdateTime": timestamp,
         "lastTransitionTime": timestamp},
        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
         "message": f'ReplicaSet "{deployment["metadata"]["name"]}" has successfully progressed.',
         "lastUpdateTime": timestamp, "lastTransitionTime": timestamp},
    ]  # fmt: skip
    return {
        "observedGeneration": deployment["metadata"].get("generation", 1),
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "conditions": conditions,
    }
