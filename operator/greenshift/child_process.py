"""The processes the project starts for itself (the test control plane's components, the demo's
Prometheus) end with the process that started them, even when it is killed with SIGKILL.

Linux's ``PR_SET_PDEATHSIG`` is tied to the thread that forked the child: start such a process
from a thread that lives as long as its owner (the main thread, or the event loop's default
executor, whose threads live until the loop closes). Elsewhere it does nothing.
"""

import contextlib
import ctypes
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """``preexec_fn`` for ``subprocess.Popen``: SIGKILL when the parent ends (an API server whose
    etcd went first ignores SIGTERM for long)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
