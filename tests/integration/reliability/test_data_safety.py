"""Issue 6.7: no flow deletes a PVC or a namespace that policy says to keep; the deletions policy
asks for (retainOnDelete: false, deletionPolicy: Delete) do happen, so the checks can see one."""

from integration.operator.conftest import (
    NAMESPACES,
    PVCS,
    SOURCES,
    TENANTS,
    Kube,
    apply_when_possible,
    onboard,
    source,
    tenant,
)

from .conftest import platform

CACHE = {"size": "1Gi"}


async def _kept(kube: Kube, namespace: str, name: str) -> None:
    pvc = await kube.must_get(PVCS, namespace, name)
    assert not pvc["metadata"].get("deletionTimestamp"), f"PVC {namespace}/{name} is being deleted"
    assert not pvc["metadata"].get("ownerReferences"), f"PVC {namespace}/{name} can be garbage-collected"


async def _namespace_kept(kube: Kube, name: str) -> None:
    namespace = await kube.must_get(NAMESPACES, None, name)
    assert namespace["status"]["phase"] == "Active"
    assert not namespace["metadata"].get("ownerReferences")


async def test_volumes_and_namespaces_survive_every_flow_that_keeps_them() -> None:
    async with platform() as p:
        kube = p.kube
        await onboard(kube, "data")
        ns = "wallet-data"
        for name in ("deleted", "uncached", "renamed", "suspended", "offline", "dropped"):
            await apply_when_possible(kube, source(ns, name, cache=CACHE))
        await apply_when_possible(kube, source(ns, "disposable", cache={**CACHE, "retainOnDelete": False}))
        for name in ("deleted", "uncached", "renamed", "suspended", "offline", "dropped", "disposable"):
            await kube.wait_ready(SOURCES, ns, name)
            await kube.wait(PVCS, ns, f"{name}-cache")

        await kube.delete(SOURCES, ns, "deleted")  # retainOnDelete: true by default
        await kube.wait_gone(SOURCES, ns, "deleted")
        await kube.apply(source(ns, "uncached"))  # cache removed from the spec
        await kube.apply(source(ns, "renamed-v2", cache=CACHE))  # renamed: new one, old deleted
        await kube.delete(SOURCES, ns, "renamed")
        await kube.wait_ready(SOURCES, ns, "renamed-v2")
        await kube.wait_gone(SOURCES, ns, "renamed")
        await kube.wait_ready(SOURCES, ns, "uncached")
        await kube.apply(tenant("data", suspended=True))
        await kube.wait(SOURCES, ns, "suspended", lambda o: _reason(o) == "Suspended")
        await kube.apply(tenant("data", suspended=False))
        await kube.delete(SOURCES, ns, "disposable")  # the control: policy says delete
        await kube.wait_gone(PVCS, ns, "disposable-cache")

        await p.operator.stop()  # deletions while the operator is down
        await kube.delete(SOURCES, ns, "offline")
        await kube.delete(TENANTS, None, "data")  # deletionPolicy: Retain by default
        await p.operator.start()
        await kube.wait_gone(SOURCES, ns, "offline")
        await kube.wait_gone(TENANTS, None, "data")
        await p.operator.resync()

        for name in ("deleted", "uncached", "renamed", "suspended", "offline", "dropped", "renamed-v2"):
            await _kept(kube, ns, f"{name}-cache")
        await _namespace_kept(kube, ns)
        kept = len(await kube.list(PVCS, ns))
        print(f"\nFIGURES data-safety: volumes_kept={kept} namespaces_kept=1 deleted_by_policy=1")
        assert kept == 7


async def test_a_retained_tenant_deleted_with_the_operator_down_keeps_its_namespace_and_volumes() -> None:
    async with platform() as p:
        kube = p.kube
        await onboard(kube, "keep")
        await onboard(kube, "drop", deletionPolicy="Delete")
        for ns in ("wallet-keep", "wallet-drop"):
            await apply_when_possible(kube, source(ns, "src", cache=CACHE))
            await kube.wait(PVCS, ns, "src-cache")
        await p.operator.stop()
        await kube.delete(TENANTS, None, "keep")
        await kube.delete(TENANTS, None, "drop")
        await p.operator.start()
        await kube.wait_gone(TENANTS, None, "keep")
        await kube.wait_gone(NAMESPACES, None, "wallet-drop")  # the control: policy says delete
        await _namespace_kept(kube, "wallet-keep")
        await _kept(kube, "wallet-keep", "src-cache")


def _reason(obj: dict[str, object]) -> str | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:  # type: ignore[union-attr]
        if cond.get("type") == "Ready":
            return str(cond.get("reason"))
    return None
