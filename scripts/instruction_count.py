"""Instructions the gateway executes per order, counted by valgrind's callgrind.

On a shared VM, wall-clock rates and even CPU seconds drift by tens of percent from hour to hour, which
hides a 5% change in the code. Callgrind counts instructions, which do not depend on the machine's load,
so two runs of the same code agree to within about 1%. The gateway runs some 50 times slower under it,
so a benchmark counts only a short closed-loop phase: it zeroes the counters when the phase starts and
dumps them when it ends.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

DUMP_WAIT_S = 30.0


def under_callgrind(command: list[str], directory: Path) -> list[str]:
    """``command`` wrapped to run under callgrind, writing its counts into ``directory``."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("--instructions needs valgrind (Debian package valgrind)")
    return [
        "valgrind",
        "--quiet",
        "--tool=callgrind",
        "--compress-strings=no",
        f"--callgrind-out-file={directory}/callgrind.%p",
        *command,
    ]


def zero_counts(pid: int) -> None:
    subprocess.run(["callgrind_control", "--zero", str(pid)], check=True, capture_output=True)


def instructions_since_zero(pid: int, directory: Path) -> int:
    """Dump the counts of process ``pid`` and return the instructions executed since ``zero_counts``."""
    subprocess.run(["callgrind_control", "--dump=phase", str(pid)], check=True, capture_output=True)
    deadline = time.monotonic() + DUMP_WAIT_S
    while time.monotonic() < deadline:
        for dump in directory.glob(f"callgrind.{pid}.*"):
            lines = dump.read_text().splitlines()
            if any(line.startswith("totals:") for line in lines):  # the last line: the dump is whole
                return next(int(line.split()[1]) for line in lines if line.startswith("summary:"))
        time.sleep(0.2)
    raise RuntimeError(f"callgrind wrote no dump for process {pid} within {DUMP_WAIT_S} s")
