"""`greenshift render ... | head`: a reader that goes away ends the command quietly.

The command runs as a real process writing into a real pipe whose read end is closed after the
first bytes, as `head` does; the output of examples/ (about 150 kB) is larger than a pipe holds.
"""

import subprocess
import sys

import pytest
from render_support import EXAMPLES, ROOT

from greenshift.cli import EXIT_BROKEN_PIPE

COMMAND = [sys.executable, "-c", "import sys; from greenshift.cli import main; sys.exit(main())"]


@pytest.mark.parametrize("output", ["yaml", "json"])
def test_a_closed_pipe_ends_render_quietly(output: str) -> None:
    process = subprocess.Popen(
        [*COMMAND, "render", "-f", str(EXAMPLES), "-o", output],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    assert process.stdout.read(64)
    process.stdout.close()  # what `head -c 64` does
    errors = process.stderr.read().decode()
    assert process.wait(timeout=60) == EXIT_BROKEN_PIPE
    assert errors == ""


def test_a_reader_that_stays_gets_everything_and_status_0() -> None:
    done = subprocess.run(
        [*COMMAND, "render", "-f", str(EXAMPLES)], capture_output=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0
    assert done.stderr == b""
    assert len(done.stdout) > 65536  # more than a pipe holds: the test above does meet a full pipe
