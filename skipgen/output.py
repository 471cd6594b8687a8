"""Writing generated files safely.

A file is written to a temporary file in the same folder and then renamed over the target
(``os.replace`` is atomic), so a reader never sees half a file and a failure leaves the old
file as it was. A file that skipgen did not generate is never overwritten unless forced.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from skipgen.backends.source import MARKER


def is_generated(path: Path) -> bool:
    """True when ``path`` starts with skipgen's header line."""
    try:
        with path.open("rb") as file:
            first = file.readline(len(MARKER) + 1)
    except OSError:
        return False
    return first.startswith(MARKER.encode("ascii"))


def read_bytes(path: Path) -> bytes | None:
    """The bytes of ``path``, or None when it is missing (or cannot be read)."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def _new_file_mode() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8, ``\\n`` line endings) in one step.

    On any failure the temporary file is removed and ``path`` is left untouched.
    """
    replace_atomic(path, lambda file: file.write(text.encode("utf-8")))


def replace_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Replace ``path`` with what ``write`` writes to a binary file, in one step.

    ``write`` fills a temporary file in the same folder, which is then renamed over
    ``path``. A new file gets the usual permissions (not the temporary file's private
    ones); a replaced file keeps its own. On any failure the temporary file is removed and
    ``path`` is left untouched.
    """
    folder = path.parent
    existing = path.stat().st_mode if path.is_file() else None
    mode = stat.S_IMODE(existing) if existing is not None else _new_file_mode()
    tmp_name: str | None = None
    try:
        with tempfile.NamedTemporaryFile(
            "wb", dir=folder, prefix=f".{path.name}.", suffix=".tmp", delete=False
        ) as tmp:
            tmp_name = tmp.name
            write(tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
        raise


def short_diff(old: str, new: str, path: str, limit: int = 40) -> str:
    """A unified diff from ``old`` to ``new``, cut to at most ``limit`` lines."""
    lines = list(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"{path} (on disk)",
            tofile=f"{path} (from the spec)",
            n=2,
        )
    )
    lines = [line if line.endswith("\n") else line + "\n" for line in lines]
    if len(lines) > limit:
        more = len(lines) - limit
        lines = [*lines[:limit], f"... ({more} more diff lines)\n"]
    return "".join(lines)
