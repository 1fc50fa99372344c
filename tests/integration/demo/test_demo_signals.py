"""`greenshift demo` stops cleanly on SIGINT (Ctrl-C) and SIGTERM, whether serving or still starting.

Each test runs the command as a process of its own (in a session of its own, so the signal goes
to it alone), waits for a line of its output, signals it, and checks that it exits in time with
the expected status, that every process it started has ended, and that its embedded API server
no longer answers.
"""

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "bosa"
PLATFORM_CONFIG = ROOT / "examples" / "platform-config.yaml"  # allows the ClusterIssuer bosa's route names
START_SECONDS = 90.0
STOP_SECONDS = 20.0


class Demo:
    def __init__(self, *args: str) -> None:
        command = [sys.executable, "-c", "import sys; from greenshift.cli import main; sys.exit(main())"]
        self.process = subprocess.Popen(
            [*command, "demo", *args, "-f", str(EXAMPLES), "-f", str(PLATFORM_CONFIG)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            cwd=ROOT,
        )
        self.output: list[str] = []
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: str, seconds: float = START_SECONDS) -> re.Match[str]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            self.output.append(line)
            found = re.search(pattern, line)
            if found:
                return found
        raise AssertionError(f"no {pattern!r} in the output:\n{''.join(self.output)}")

    def descendants(self) -> set[int]:
        """Every process below the demo's (from /proc: parent ids)."""
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        found, frontier = set(), {self.process.pid}
        while frontier:
            frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
            found |= frontier
        return found

    def stop(self, sig: signal.Signals) -> int:
        os.kill(self.process.pid, sig)
        try:
            code = self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"still running {STOP_SECONDS} s after {sig.name}") from None
        self.reader.join(timeout=STOP_SECONDS)
        while not self.lines.empty():
            line = self.lines.get()
            if line is not None:
                self.output.append(line)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_keep_stops_on_a_signal(sig: signal.Signals) -> None:
    demo = Demo("--keep")
    try:
        port = int(demo.wait_for(r"embedded Kubernetes API at http://127\.0\.0\.1:(\d+)").group(1))
        kubeconfig = Path(demo.wait_for(r"KUBECONFIG=(\S+) kubectl").group(1))
        demo.wait_for(r"Press Ctrl-C to stop")
        children = demo.descendants()
        assert _answers(port)
        assert kubeconfig.is_file()
        assert kubeconfig.parent.stat().st_mode & 0o077 == 0  # the demo's own folder, private
        assert demo.stop(sig) == 0, "".join(demo.output)
        assert not kubeconfig.parent.exists()
        assert f"Stopped ({sig.name})." in "".join(demo.output)
        assert "Traceback" not in "".join(demo.output)
        assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]
        assert not _answers(port)
    finally:
        demo.kill()


def test_a_signal_while_waiting_for_ready_stops_it_too() -> None:
    demo = Demo("--keep", "--timeout", "300")
    try:
        port = int(demo.wait_for(r"embedded Kubernetes API at http://127\.0\.0\.1:(\d+)").group(1))
        demo.wait_for(r"Started the operator")
        assert demo.stop(signal.SIGTERM) == 130, "".join(demo.output)
        assert "Stopped (SIGTERM)." in "".join(demo.output)
        assert "Traceback" not in "".join(demo.output)
        assert not _answers(port)
    finally:
        demo.kill()
