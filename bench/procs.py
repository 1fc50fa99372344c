"""The benchmark's subprocesses: the API server, the operator and the stand-in kubelet, each on its own.

Every wait is bounded; :class:`Processes` stops whatever it started, even when the benchmark fails.
"""

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Self

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """The benchmark could not go on (a process died, a wait timed out)."""


class Child:
    def __init__(self, name: str, process: asyncio.subprocess.Process, log: IO[bytes]) -> None:
        self.name = name
        self.process = process
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.returncode is None

    def check(self) -> None:
        if not self.alive():
            raise BenchError(
                f"the {self.name} exited with code {self.process.returncode}; see {self.log.name}"
            )

    async def stop(self, grace: float = 15.0, *, interrupt: bool = False) -> None:
        """SIGTERM (SIGINT with ``interrupt``, on which py-spy writes its profile), then SIGKILL."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGINT if interrupt else signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await asyncio.wait_for(self.process.wait(), 5.0)
        self.log.close()


def status_kib(pid: int, field: str) -> int:
    """A ``/proc/<pid>/status`` memory figure (VmHWM: peak RSS, VmRSS: current), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise BenchError(f"no {field} for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class Processes:
    """Starts and stops the benchmark's subprocesses; ``async with`` stops them all at the end."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.children: list[Child] = []
        self.cleanups: list[Callable[[], None]] = []  # blocking; run last, newest first (control planes)
        logs.mkdir(parents=True, exist_ok=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop_all()

    async def stop_all(self) -> None:
        for child in reversed(self.children):
            await child.stop()
        self.children.clear()
        while self.cleanups:
            await asyncio.to_thread(self.cleanups.pop())

    async def stop(self, child: Child, *, interrupt: bool = False) -> None:
        await child.stop(interrupt=interrupt)
        if child in self.children:
            self.children.remove(child)

    async def _spawn(
        self,
        name: str,
        argv: list[str],
        log_name: str,
        *,
        pipe: bool = False,
        env: dict[str, str] | None = None,
    ) -> Child:
        """Start a process; stderr (and stdout unless ``pipe``) go to its log file."""
        log = (self.logs / log_name).open("wb")
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE if pipe else log,
            stderr=log,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        child = Child(name, process, log)
        self.children.append(child)
        return child

    async def devcluster(self, kubeconfig: Path, log_name: str, within: float = 30.0) -> tuple[Child, str]:
        """``python -m greenshift.devcluster`` on a free loopback port; returns it and its URL."""
        argv = [str(BIN / "python"), "-m", "greenshift.devcluster", "--host", "127.0.0.1", "--port", "0",
                "--available-deployments", "--kubeconfig", str(kubeconfig),
                "--log-level", "WARNING"]  # fmt: skip
        child = await self._spawn("dev cluster", argv, log_name, pipe=True)
        assert child.process.stdout is not None
        try:
            line = await asyncio.wait_for(child.process.stdout.readline(), within)
        except TimeoutError:
            raise BenchError(f"the dev cluster printed no URL within {within:.0f}s") from None
        url = line.decode().strip()
        if not url.startswith("http://127.0.0.1:"):
            child.check()
            raise BenchError(f"the dev cluster printed {url!r}, not its URL")
        return child, url

    async def operator(
        self,
        kubeconfig: Path,
        log_name: str,
        *,
        workers: int,
        resync_seconds: float,
        platform_config: Path,
        http_port: int,
    ) -> Child:
        """``greenshift run --standalone`` with ``kubeconfig``, serving /healthz on ``http_port``."""
        argv = [str(BIN / "greenshift"), "run", "--standalone", "--workers", str(workers),
                "--resync-seconds", str(resync_seconds),
                "--platform-config", str(platform_config),
                "--http-address", "127.0.0.1", "--http-port", str(http_port)]  # fmt: skip
        return await self._spawn("operator", argv, log_name, env={"KUBECONFIG": str(kubeconfig)})

    async def kubelet(self, kubeconfig: Path, log_name: str, *, concurrency: int) -> Child:
        """The stand-in kubelet (``bench/kubelet.py``) with ``kubeconfig``."""
        argv = [str(BIN / "python"), str(ROOT / "bench" / "kubelet.py"), "--concurrency", str(concurrency)]
        return await self._spawn("fake kubelet", argv, log_name, env={"KUBECONFIG": str(kubeconfig)})

    async def py_spy(self, pid: int, output: Path, duration: float, log_name: str) -> Child:
        """Sample a process with py-spy for ``duration`` seconds (raw collapsed stacks, idle included)."""
        argv = [str(BIN / "py-spy"), "record", "--pid", str(pid), "--output", str(output),
                "--format", "raw", "--duration", str(max(1, round(duration))), "--rate", "100",
                "--nonblocking", "--idle"]  # fmt: skip
        return await self._spawn("py-spy", argv, log_name)


async def wait_idle(
    child: Child,
    *,
    quiet_seconds: float = 2.0,
    busy_share: float = 0.03,
    within: float = 600.0,
    interval: float = 0.25,
) -> float:
    """Until the process has used under ``busy_share`` of a CPU for ``quiet_seconds``; returns when."""
    deadline = time.monotonic() + within
    samples: list[tuple[float, float]] = []
    while time.monotonic() < deadline:
        child.check()
        now = time.monotonic()
        samples.append((now, cpu_seconds(child.pid)))
        base = next((s for s in reversed(samples) if s[0] <= now - quiet_seconds), None)
        if base is not None and samples[-1][1] - base[1] <= busy_share * (now - base[0]):
            return now
        await asyncio.sleep(interval)
    raise BenchError(f"the {child.name} was still busy after {within:.0f}s")


def child_pids(names: tuple[str, ...], marker: str) -> dict[str, int]:
    """This process' children whose executable is one of ``names`` and whose arguments name ``marker``
    (the control plane's folder): their pids, by executable name."""
    found: dict[str, int] = {}
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) != me or not argv or not argv[0]:
            continue
        name = Path(argv[0].decode(errors="replace")).name
        if name in names and any(marker.encode() in arg for arg in argv[1:]):
            found[name] = int(entry.name)
    return found


async def wait_quiet(
    pids: list[int], *, quiet_seconds: float = 1.0, busy_share: float = 0.05, within: float = 30.0
) -> bool:
    """Until the processes together use under ``busy_share`` of a CPU for ``quiet_seconds`` (a fresh
    cluster settling); False if they did not within ``within`` seconds."""
    deadline = time.monotonic() + within
    samples: list[tuple[float, float]] = []
    while time.monotonic() < deadline:
        now = time.monotonic()
        total = 0.0
        for pid in pids:
            with contextlib.suppress(OSError):
                total += cpu_seconds(pid)
        samples.append((now, total))
        base = next((s for s in reversed(samples) if s[0] <= now - quiet_seconds), None)
        if base is not None and total - base[1] <= busy_share * (now - base[0]):
            return True
        await asyncio.sleep(0.1)
    return False


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all CPUs, from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


class ForeignLoad:
    """How much CPU processes other than the benchmark's used meanwhile (other work on the machine)."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = [*pids, os.getpid()]
        self._start = self._sample()

    def _sample(self) -> tuple[float, float]:
        ours = 0.0
        for pid in self.pids:
            with contextlib.suppress(OSError):
                ours += cpu_seconds(pid)
        return machine_busy_seconds(), ours

    def seconds(self) -> float:
        busy, ours = self._sample()
        return max(0.0, (busy - self._start[0]) - (ours - self._start[1]))
