"""A Prometheus the project starts (the demo's, the tests') ends with the process that started
it, even when that process is killed with SIGKILL and has no chance to stop it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from greenshift.analytics.local import binaries

pytestmark = pytest.mark.skipif(
    binaries() is None,
    reason="prometheus and promtool are not installed "
    "(Debian's prometheus package: make system-deps, as root)",
)

STARTER = """
import sys
from pathlib import Path
from greenshift.analytics.local import LocalPrometheus
server = LocalPrometheus(Path(sys.argv[1]), [])
server.start()
print(server._process.pid, flush=True)
sys.stdin.read()
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_killed_demo_takes_its_prometheus_with_it(tmp_path: Path) -> None:
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert starter.stdout is not None
    prometheus = int(starter.stdout.readline())
    assert _alive(prometheus)
    os.kill(starter.pid, signal.SIGKILL)
    starter.wait()
    deadline = time.monotonic() + 10
    while _alive(prometheus) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(prometheus)
