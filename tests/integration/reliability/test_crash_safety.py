"""Issue 6.3: the operator process SIGKILLed at 20+ random points while it reconciles 20 tenants
(and while tenants are changed and resources deleted), restarted each time: the final state is
identical to a clean run's, with no duplicate children and no object stuck with finalizers."""

import asyncio
import collections
import functools
import os
import random
import signal
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from greenshift.controllers.watches import USAGE_DELAY_SECONDS
from integration.operator.conftest import (
    OWNER,
    PVCS,
    ROUTES,
    SOURCES,
    TENANTS,
    Body,
    Kube,
    condition,
    eventually,
    observed,
    source,
    tenant,
)

from .conftest import (
    CHILD_KINDS,
    CUSTOM_KINDS,
    Platform,
    apply_fleet,
    differences,
    fleet_names,
    platform,
    snapshot,
)

pytestmark = pytest.mark.slow

TENANT_COUNT = 20
KILLS = 22
SEED = 6_03
GREENSHIFT = Path(sys.executable).with_name("greenshift")


CHANGES = (3, 6, 9, 10, 12, 15, 18)


async def change_fleet(kube: Kube, names: list[str], step: int) -> None:
    """The users' changes at fixed points of the run (applied in the same order in the clean run)."""
    hosts = {name: [f"{name}.wallet.example.be"] for name in names}
    if step in (3, 18):
        for name in names:
            await kube.apply(tenant(name, allowedHosts=hosts[name], displayName=f"Renamed {step} {name}"))
    elif step == 6:  # two replicas: a PodDisruptionBudget appears
        for name in names[::2]:
            await kube.apply(
                source(f"wallet-{name}", "src", cache={"size": "1Gi"}, connector={"replicas": 2})
            )
    elif step == 9:  # resources that run (so that both runs delete the same things)
        for name in names[:3]:
            await kube.wait(PVCS, f"wallet-{name}", "src-cache", seconds=60)
            await kube.delete(SOURCES, f"wallet-{name}", "src")
        for name in names[3:5]:
            await kube.wait_ready(ROUTES, f"wallet-{name}", "api", seconds=60)
            await kube.delete(ROUTES, f"wallet-{name}", "api")
    elif step == 10:
        await kube.apply(
            tenant(
                names[6],
                allowedHosts=hosts[names[6]],
                displayName=f"Renamed 3 {names[6]}",
                deletionPolicy="Delete",
            )
        )
    elif step == 12:
        await kube.delete(TENANTS, None, names[5])  # Retain
        await kube.delete(TENANTS, None, names[6])  # Delete: its namespace goes, with its resources
    elif step == 15:
        await apply_fleet(kube, [f"n{i:02d}" for i in range(3)], cache=True)


# The routes of deleted sources, the resources of the deleted (retained) tenant's namespace.
EXPECTED_REASONS = frozenset({"BackendNotFound", "NoTenant"})
LAST_TIMER_SECONDS = USAGE_DELAY_SECONDS + 2.0
"""Longer than the operator's slowest delayed wake (a tenant's usage)."""


async def settled(kube: Kube) -> bool:
    """Every custom resource Ready, or not for an expected reason, and observed; nothing being deleted."""
    for ref in CUSTOM_KINDS:
        for obj in await kube.list(ref):
            if obj["metadata"].get("deletionTimestamp") or not observed(obj):
                return False
            ready = condition(obj, "Ready")
            if ready.get("status") != "True" and ready.get("reason") not in EXPECTED_REASONS:
                return False
    return True


async def stuck(kube: Kube) -> list[str]:
    found = []
    for ref in (*CUSTOM_KINDS, *CHILD_KINDS):
        for obj in await kube.list(ref):
            meta = obj["metadata"]
            if meta.get("deletionTimestamp"):
                found.append(
                    f"{obj['kind']} {meta.get('namespace')}/{meta['name']}: {meta.get('finalizers')}"
                )
    return found


async def children_per_owner(kube: Kube) -> dict[str, collections.Counter[str]]:
    owners: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for ref in CHILD_KINDS:
        for obj in await kube.list(ref):
            owner = (obj["metadata"].get("annotations") or {}).get(OWNER)
            if owner:
                owners[owner][obj["kind"]] += 1
    return dict(owners)


async def clean_run(names: list[str]) -> tuple[dict[Any, Body], dict[str, collections.Counter[str]]]:
    async with platform() as p:
        await apply_fleet(p.kube, names, cache=True)
        for step in CHANGES:
            await eventually(lambda: settled(p.kube), seconds=60, what="the clean run to settle")
            await change_fleet(p.kube, names, step)
        await eventually(lambda: settled(p.kube), seconds=60, what="the clean run to settle")
        # A key may wait on a timer (a source in a deleted namespace, a tenant's usage): no idle().
        await asyncio.sleep(LAST_TIMER_SECONDS)
        return await snapshot(p.kube), await children_per_owner(p.kube)


class OperatorProcess:
    def __init__(self, kubeconfig: Path, log: Path) -> None:
        self.kubeconfig = kubeconfig
        self.log = log
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        with self.log.open("a") as log:
            log.write(f"\n----- start {self.starts} -----\n")
            log.flush()
            self.process = await asyncio.create_subprocess_exec(
                str(GREENSHIFT), "run", "--standalone", "--resync-seconds", "3600", "--http-port", "0",
                env=env, stdout=log, stderr=log,
            )  # fmt: skip
        self.starts += 1

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        assert await self.process.wait() == -signal.SIGKILL

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def _after(previous: asyncio.Task[None], change: Coroutine[Any, Any, None]) -> None:
    await previous
    await change


async def watching(p: Platform, before: int) -> bool:
    """Whether the operator started since ``before`` watch requests has opened its watches."""
    watches = sum(n for (verb, _), n in p.cluster.request_counts.items() if verb == "watch")
    return watches >= before + 10


async def crashing_run(p: Platform, names: list[str], tmp_path: Path) -> tuple[int, float]:
    """Kill the operator at a random moment after each start, once its watches are up (so mid-work)."""
    rng = random.Random(SEED)
    kubeconfig = p.cluster.write_kubeconfig(tmp_path / "kubeconfig")
    operator = OperatorProcess(kubeconfig, tmp_path / "operator.log")
    kills = 0
    users = asyncio.create_task(apply_fleet(p.kube, names, cache=True))
    try:
        for kill in range(KILLS):
            before = sum(n for (verb, _), n in p.cluster.request_counts.items() if verb == "watch")
            await operator.start()
            up = functools.partial(watching, p, before)
            await eventually(up, seconds=30, what="the operator to watch")
            await asyncio.sleep(rng.uniform(0.0, 1.0))
            await operator.kill()
            kills += 1
            if kill in CHANGES:  # made while the operator is down and restarting, in order
                users = asyncio.create_task(_after(users, change_fleet(p.kube, names, kill)))
        await users
        await operator.start()
        started = time.monotonic()
        await eventually(lambda: settled(p.kube), seconds=120, what="the crashed run to settle")
        await asyncio.sleep(LAST_TIMER_SECONDS)  # let the last operator finish what it may still be doing
        return kills, time.monotonic() - started
    finally:
        await operator.stop()
        print(f"\noperator log: {operator.log}")


async def test_sigkill_at_random_points_converges_to_the_clean_state(tmp_path: Path) -> None:
    names = fleet_names(TENANT_COUNT)
    expected, expected_children = await clean_run(names)
    async with platform(start=False) as p:
        kills, settle_seconds = await crashing_run(p, names, tmp_path)
        actual = await snapshot(p.kube)
        stuck_objects = await stuck(p.kube)
        actual_children = await children_per_owner(p.kube)
    print(
        f"\nFIGURES crash-safety: tenants={TENANT_COUNT} kills={kills} "
        f"settled_after_last_restart={settle_seconds:.1f}s objects={len(expected)}"
    )
    assert kills >= 20
    assert stuck_objects == []
    assert actual_children == expected_children  # no duplicates, nothing missing
    assert differences(expected, actual) == []
