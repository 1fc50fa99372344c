"""Leader election on a coordination.k8s.io/v1 Lease, as client-go's ``leaderelection`` package does it.

It replaces kopf peering, which is not leader election (docs/install.md, "High availability"):
peering has no lock, replicas of equal priority all pause, and a paused replica pauses only
kopf's own watches, not the operator's reflectors, resync timer or webhook. A Lease is a lock:
one replica holds it and runs the leader's work (``on_started``) until it stops holding it
(``on_stopped``); the others wait to take over.

As in client-go:

- A candidate creates an absent Lease (POST), or writes it with the resourceVersion it read
  (PUT): a 409 means another candidate won that round, and the Lease is read again next round.
- Another holder's Lease is expired once its record has not changed for its
  leaseDurationSeconds *on this replica's clock*, counted from when this replica first saw that
  record. Remote timestamps are never compared with the local clock, so clock skew between
  nodes does not matter.
- A leader that has not renewed for ``renew_deadline_seconds`` (shorter than the lease) stops
  leading before any other replica may take over.

The decisions are the pure functions :func:`observe`, :func:`decide` and :func:`released`;
:class:`LeaderElection` only reads, writes and waits.
"""

import asyncio
import copy
import logging
import math
import os
import pathlib
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from greenshift.kube import ApiError, KubeClient, ref_of_kind

logger = logging.getLogger("greenshift")

# Not in greenshift.kube's table of the kinds the operator manages: it is not a child of anything.
LEASES = ref_of_kind("coordination.k8s.io/v1", "Lease")
SERVICE_ACCOUNT_NAMESPACE = pathlib.Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")

Body = dict[str, Any]
Callback = Callable[[], Awaitable[None]]


def micro_time(moment: datetime) -> str:
    """A metav1.MicroTime: RFC 3339 in UTC with microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Observed:
    """A Lease record (its resourceVersion and spec) and when this replica first saw it, on its clock."""

    version: str
    spec: Body
    at: float


def observe(previous: Observed | None, lease: Body, now: float) -> Observed:
    """``previous`` while ``lease`` is the same record, else a new observation made ``now``."""
    version = str((lease.get("metadata") or {}).get("resourceVersion", ""))
    spec = lease.get("spec") or {}
    if previous is not None and previous.version == version and previous.spec == spec:
        return previous
    return Observed(version, copy.deepcopy(spec), now)


def decide(
    lease: Body | None,
    identity: str,
    observed_at: float,
    now: float,
    *,
    lease_seconds: int,
    timestamp: str,
) -> Body | None:
    """The Lease spec to write for ``identity`` to hold the Lease, or None while another holder's is live.

    ``lease`` is the Lease as read (None: absent, to be created); ``observed_at`` is when this
    replica first saw that record (:func:`observe`) and ``now`` the present, on the same clock;
    ``timestamp`` is the MicroTime to write. A record without leaseDurationSeconds lasts
    ``lease_seconds``. The acquireTime stays while the holder does; leaseTransitions counts
    changes of holder.
    """
    spec: Body = (lease or {}).get("spec") or {}
    holder = spec.get("holderIdentity") or ""
    if holder and holder != identity:
        duration = spec.get("leaseDurationSeconds") or lease_seconds
        if now - observed_at < duration:
            return None
    ours = holder == identity
    transitions = int(spec.get("leaseTransitions") or 0)
    return {
        **spec,
        "holderIdentity": identity,
        "leaseDurationSeconds": lease_seconds,
        "acquireTime": spec.get("acquireTime", timestamp) if ours else timestamp,
        "renewTime": timestamp,
        "leaseTransitions": transitions if ours or lease is None else transitions + 1,
    }


def released(spec: Body, timestamp: str) -> Body:
    """The spec that gives the Lease up, as client-go's ReleaseOnCancel writes it: no holder (which
    any candidate takes at once) and a one-second duration; the rest of the record stays."""
    return {**spec, "holderIdentity": "", "leaseDurationSeconds": 1, "renewTime": timestamp}


class LeaderElection:
    """One candidate for the Lease ``namespace/name``: :meth:`run` leads while it holds it.

    ``lease_seconds`` is how long the others wait for a silent leader before taking over (written
    in whole seconds, rounded up); ``renew_deadline_seconds`` how long the leader keeps leading
    without a successful renewal; ``retry_seconds`` the pause between two rounds. ``clock`` is
    monotonic: it times observations and the renew deadline, never compared with the server's.
    """

    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        name: str,
        identity: str,
        *,
        lease_seconds: float = 15.0,
        renew_deadline_seconds: float = 10.0,
        retry_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not identity:
            raise ValueError("The identity of a leader election candidate must not be empty.")
        if not 0 < retry_seconds < renew_deadline_seconds < lease_seconds:
            raise ValueError(
                "Leader election needs 0 < retry_seconds < renew_deadline_seconds < lease_seconds, "
                f"not {retry_seconds} < {renew_deadline_seconds} < {lease_seconds}."
            )
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.renew_deadline_seconds = renew_deadline_seconds
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._duration = math.ceil(lease_seconds)
        self._lease: Body | None = None  # as this replica last wrote it, while it holds it
        self._observed: Observed | None = None
        self._renewed_at = 0.0  # when the last successful round started
        self._leading = False
        self._running = False
        self._failure: tuple[str, int, str] | None = None  # the last failure logged as a warning

    @property
    def is_leader(self) -> bool:
        """Between a successful acquisition and the loss of the Lease (or run() being cancelled)."""
        return self._leading

    @property
    def lease(self) -> str:
        return f"{self.namespace}/{self.name}"

    async def run(self, on_started: Callback, on_stopped: Callback) -> None:
        """Acquire the Lease, lead, and acquire again after a loss, until cancelled.

        ``on_started`` is awaited once this replica leads, ``on_stopped`` once it no longer does,
        including when run() is cancelled while leading: both should start or stop the leader's
        work and return, since the Lease is not renewed meanwhile. Cancelling makes no API call:
        call :meth:`release` afterwards for another replica to take over at once.
        """
        if self._running:
            raise RuntimeError(f"The leader election for the Lease {self.lease} is already running.")
        self._running = True
        try:
            while True:
                await self._acquire()
                self._leading = True
                try:
                    await on_started()
                    await self._renew()
                finally:
                    self._leading = False
                    await on_stopped()
        finally:
            self._running = False

    async def release(self) -> bool:
        """Give the Lease up, on a graceful shutdown, so that another replica takes over at once.

        Call it once run() has been cancelled and has returned (the leader's work has stopped).
        It reads the Lease afresh, since run() may have been cancelled with a renewal in flight,
        and writes it only while it names this replica. A failure is logged: the Lease then
        expires as if this replica had died. True when released.
        """
        if self._running:
            raise RuntimeError(
                f"Cancel run() before releasing the Lease {self.lease}: the leader's work stops first."
            )
        self._lease = None
        try:
            lease = await self.client.get(LEASES, self.namespace, self.name)
            spec = (lease or {}).get("spec") or {}
            if lease is None or spec.get("holderIdentity") != self.identity:
                return False
            await self._write(lease, released(spec, micro_time(datetime.now(UTC))))
        except ApiError as exc:
            logger.warning("Failed to release the Lease %s: %s.", self.lease, exc)
            return False
        logger.info("Released the Lease %s.", self.lease)
        return True

    async def _acquire(self) -> None:
        reported = ""  # the other holder last named in the log
        while True:
            held = await self._attempt("acquire", self.renew_deadline_seconds)
            if held:
                logger.info("Acquired the Lease %s as %s.", self.lease, self.identity)
                return
            if held is False and self._holder() != reported:
                reported = self._holder()
                logger.info(
                    "Found the Lease %s held by %s; waiting until it is released or expires.",
                    self.lease,
                    reported,
                )
            await asyncio.sleep(self.retry_seconds)

    async def _renew(self) -> None:
        """Renew every retry period; return once leadership is lost."""
        while True:
            await asyncio.sleep(self.retry_seconds)
            remaining = self._renewed_at + self.renew_deadline_seconds - self._clock()
            held = await self._attempt("renew", remaining) if remaining > 0 else None
            if held:
                continue
            if held is False:
                logger.warning("Lost the Lease %s to %s.", self.lease, self._holder())
                return
            if self._clock() - self._renewed_at >= self.renew_deadline_seconds:
                self._lease = None
                logger.warning(
                    "Lost the Lease %s: no renewal succeeded for %.1fs.",
                    self.lease,
                    self.renew_deadline_seconds,
                )
                return

    async def _attempt(self, action: str, within: float) -> bool | None:
        """One round, given ``within`` seconds: True when this replica holds the Lease, False while another
        holder's is live, None when a request failed or timed out (logged)."""
        try:
            async with asyncio.timeout(within):
                held = await self._round()
        except ApiError as exc:
            if exc.status == 409:  # not a failure: another candidate won this round
                logger.info(
                    "Found the Lease %s written by another since it was read; reading it again.", self.lease
                )
            else:
                self._log_failure(action, (action, exc.status, exc.reason), str(exc))
            return None
        except TimeoutError:
            self._log_failure(action, (action, 0, "Timeout"), f"no answer within {within:.1f}s")
            return None
        self._failure = None
        return held

    async def _round(self) -> bool:
        """Read the Lease (unless this replica wrote it last) and write it if this replica may hold it."""
        started = self._clock()
        lease = self._lease
        if lease is None:
            lease = await self.client.get(LEASES, self.namespace, self.name)
            if lease is not None:
                self._observed = observe(self._observed, lease, self._clock())
        now = self._clock()
        spec = decide(
            lease,
            self.identity,
            self._observed.at if self._observed is not None else now,
            now,
            lease_seconds=self._duration,
            timestamp=micro_time(datetime.now(UTC)),
        )
        if spec is None:
            return False
        self._lease = None  # until the write succeeds: after a failure, the next round reads again
        written = await self._write(lease, spec)
        self._lease = written
        if written is not None:
            self._observed = observe(None, written, self._clock())
        self._renewed_at = started
        return True

    async def _write(self, lease: Body | None, spec: Body) -> Body | None:
        if lease is None:
            metadata = {"name": self.name, "namespace": self.namespace}
            body = {"apiVersion": LEASES.api_version, "kind": LEASES.kind, "metadata": metadata, "spec": spec}
            return await self.client.request("POST", LEASES.path(self.namespace), body=body)
        path = LEASES.path(self.namespace, self.name)
        return await self.client.request("PUT", path, body={**lease, "spec": spec})

    def _holder(self) -> str:
        return str((self._observed.spec if self._observed is not None else {}).get("holderIdentity") or "")

    def _log_failure(self, action: str, key: tuple[str, int, str], error: str) -> None:
        """A warning for a new failure; repeats of the same one (a missing RBAC grant) go to debug."""
        level = logging.DEBUG if key == self._failure else logging.WARNING
        self._failure = key
        logger.log(
            level,
            "Failed to %s the Lease %s: %s; retrying in %.1fs.",
            action,
            self.lease,
            error,
            self.retry_seconds,
        )


@dataclass(frozen=True)
class LeaseOptions:
    """The Lease an operator leads through (``greenshift run --leader-election``)."""

    namespace: str
    name: str
    identity: str
    lease_seconds: float = 15.0
    renew_deadline_seconds: float = 10.0
    retry_seconds: float = 2.0

    def election(self, client: KubeClient) -> LeaderElection:
        return LeaderElection(
            client,
            self.namespace,
            self.name,
            self.identity,
            lease_seconds=self.lease_seconds,
            renew_deadline_seconds=self.renew_deadline_seconds,
            retry_seconds=self.retry_seconds,
        )


def default_identity() -> str:
    """POD_NAME (the downward API), else the host name and a random suffix: two processes of one
    host (a developer's) are never taken for the same candidate."""
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"


def default_namespace() -> str:
    """POD_NAMESPACE, else the service account's namespace, else ``default`` (out of a cluster)."""
    if namespace := os.environ.get("POD_NAMESPACE"):
        return namespace
    try:
        return SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or "default"
    except OSError:
        return "default"
