"""kopf's login (at start, and again after a 401) reads the credentials again, as the operator's
own client does, instead of returning those read when the process started."""

import kopf

from greenshift.config import PlatformConfig
from greenshift.controllers.wiring import Runtime

STARTED = kopf.ConnectionInfo(server="https://127.0.0.1:6443", token="old")


def test_kopf_gets_the_credentials_read_again() -> None:
    reads = iter(["new", "newer"])
    runtime = Runtime(
        PlatformConfig(), STARTED, login=lambda: kopf.ConnectionInfo(server=STARTED.server, token=next(reads))
    )
    assert runtime.credentials().token == "new"
    assert runtime.credentials().token == "newer"


def test_without_a_login_kopf_gets_the_credentials_it_started_with() -> None:
    assert Runtime(PlatformConfig(), STARTED).credentials() is STARTED
