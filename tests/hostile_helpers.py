"""Helpers for hostile-input tests: running the CLI where a regression could hang or fill
the machine's memory (a FIFO, ``/dev/zero``), and writing specs and links."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

GUARD_SECONDS = 120  # only a guard: a regression fails the test instead of hanging it
GUARD_BYTES = 2 << 30  # address space: a regression that reads /dev/zero stops here


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (GUARD_BYTES, GUARD_BYTES))


def run_guarded(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``skipgen ARGS`` in ``folder``, in a process of its own, bounded in time and memory."""
    limit = _limit_memory if sys.platform.startswith("linux") else None
    try:
        return subprocess.run(
            [sys.executable, "-m", "skipgen", *args],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=GUARD_SECONDS,
            preexec_fn=limit,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"skipgen {' '.join(args)} did not finish: it waits on what it reads")


def fifo(path: Path) -> Path:
    """A named pipe at ``path`` (the test is skipped where there are none)."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("named pipes are a POSIX feature")
    os.mkfifo(path)
    return path


def link(path: Path, target: str | Path) -> Path:
    """A symbolic link at ``path`` to ``target`` (the test is skipped where it cannot be)."""
    if not Path(target).exists():
        pytest.skip(f"{target} is not on this system")
    try:
        path.symlink_to(target)
    except OSError:
        pytest.skip("symbolic links cannot be made here")
    return path
