"""Hostile block files behind ``include:``: not regular files, far too large, not block
files at all, or block files with a wrong ``blocks``. Each is an error located in the file
that names the include or in the included file, with hints about a block file's keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from skipgen.cli import app
from skipgen.language.limits import MAX_FILE_BYTES
from tests.hostile_helpers import fifo, link, run_guarded

SPEC = (
    "name: Net\n"
    "input: {channels: 3, size: 8}\n"
    "include: [blocks.yaml]\n"
    "layers:\n"
    "  - {type: conv, channels: 8}\n"
)
AT_INCLUDE = "net.yaml:3:11: error: include: cannot read 'blocks.yaml'"


def validate(folder: Path) -> Result:
    return CliRunner().invoke(app, ["validate", str(folder / "net.yaml")])


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(result: Result) -> str:
    """The diagnostics of a spec that fails with exit 1, without a traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.stderr


def test_an_included_fifo_is_refused_without_waiting_on_it(tmp_path: Path) -> None:
    write(tmp_path, "net.yaml", SPEC)
    fifo(tmp_path / "blocks.yaml")
    result = run_guarded(tmp_path, "validate", "net.yaml")
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"{AT_INCLUDE}: it is a named pipe (FIFO), not a regular file")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_an_included_link_to_a_device_is_refused(tmp_path: Path, device: str) -> None:
    write(tmp_path, "net.yaml", SPEC)
    link(tmp_path / "blocks.yaml", device)
    result = run_guarded(tmp_path, "validate", "net.yaml")
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"{AT_INCLUDE}: it is a device, not a regular file")


def test_an_included_folder_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "net.yaml", SPEC)
    (tmp_path / "blocks.yaml").mkdir()
    assert f"{AT_INCLUDE}: it is a folder" in refused(validate(tmp_path))


def test_an_included_link_to_a_block_file_is_read(tmp_path: Path) -> None:
    write(tmp_path, "net.yaml", SPEC.replace("{type: conv, channels: 8}", "{type: pair}"))
    real = write(
        tmp_path, "real.yaml", "blocks:\n  pair:\n    layers: [{type: conv, channels: 8}]\n"
    )
    link(tmp_path / "blocks.yaml", real)
    result = validate(tmp_path)
    assert result.exit_code == 0, result.output


def test_an_included_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "net.yaml", SPEC)
    with (tmp_path / "blocks.yaml").open("wb") as file:
        file.truncate(303_000_000)  # sparse where the file system allows: nothing is written
    stderr = refused(validate(tmp_path))
    assert f"{AT_INCLUDE}: it is 303,000,000 bytes long; a spec or block file may be " in stderr
    over = write(tmp_path, "blocks.yaml", "blocks: {}\n#" + "x" * MAX_FILE_BYTES + "\n")
    size = over.stat().st_size
    assert f"{AT_INCLUDE}: it is {size:,} bytes long" in refused(validate(tmp_path))


@pytest.mark.parametrize(
    ("blocks", "got"),
    [('"not a mapping"', "'not a mapping'"), ("[1, 2]", "a list"), ("", "null")],
)
def test_blocks_that_are_not_a_mapping_are_an_error_in_the_included_file(
    tmp_path: Path, blocks: str, got: str
) -> None:
    write(tmp_path, "net.yaml", SPEC)
    write(tmp_path, "blocks.yaml", f"description: mine\nblocks: {blocks}\n")
    stderr = refused(validate(tmp_path))
    assert f"blocks.yaml:2:{9 if blocks else 8}: error: blocks: expected a mapping" in stderr
    assert f"got {got}" in stderr


PASSWORDS = (
    "root:$6$Zq8rT1saltsalt$Hx9hashhashhashhashhashhashhashhashhashhash:0:0:Admin: root\n"
    "bob:$6$Pp0saltsalt$Kk1hashhashhashhashhashhashhashhashhashhash:1:1:Bob: /home/bob\n"
)


def test_an_included_file_that_is_not_a_block_file_is_named_so(tmp_path: Path) -> None:
    write(tmp_path, "net.yaml", SPEC)
    link(tmp_path / "blocks.yaml", write(tmp_path, "passwd", PASSWORDS))
    stderr = refused(validate(tmp_path))
    assert stderr.splitlines()[0].endswith(
        "blocks.yaml:1:1: error: this file is not a block file: it has none of the keys "
        "blocks, include"
    )
    assert "$6$" not in stderr and "hash" not in stderr


def test_an_empty_block_file_is_allowed(tmp_path: Path) -> None:
    write(tmp_path, "net.yaml", SPEC)
    write(tmp_path, "blocks.yaml", "{}\n")
    assert validate(tmp_path).exit_code == 0


def test_unknown_keys_of_a_block_file_get_a_block_files_hints(tmp_path: Path) -> None:
    write(tmp_path, "net.yaml", SPEC)
    write(tmp_path, "blocks.yaml", "blocks: {}\nlayers:\n  - {type: conv}\nblockz: {}\n")
    stderr = refused(validate(tmp_path))
    assert (
        "blocks.yaml:2:1: error: layers: unknown key 'layers'\n"
        "  hint: allowed keys: blocks, description, include\n"
    ) in stderr
    assert (
        "blocks.yaml:4:1: error: blockz: unknown key 'blockz'\n  hint: did you mean 'blocks'?"
        in stderr
    )
    assert "did you mean 'layers'" not in stderr


@pytest.mark.parametrize("name", ["pair", "input"])  # `input` is also a section of a spec
def test_unknown_keys_of_a_block_get_a_blocks_hints(tmp_path: Path, name: str) -> None:
    write(tmp_path, "net.yaml", SPEC)
    body = f"blocks:\n  {name}:\n    paramz: {{c: int}}\n    layers: [{{type: conv}}]\n"
    write(tmp_path, "blocks.yaml", body)
    stderr = refused(validate(tmp_path))
    assert (
        f"blocks.yaml:3:5: error: blocks.{name}.paramz: unknown key 'paramz'\n"
        "  hint: did you mean 'params'?"
    ) in stderr
