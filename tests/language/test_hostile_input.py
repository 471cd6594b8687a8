"""Hostile input to the loader: numbers too long for Python, odd ``--set`` keys, files that
are not regular files or are far too large, text that is not a spec, and the ways the
Python API tells a path from YAML text. Each is a located error (exit 1), never a
traceback, a hang or an unbounded read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import skipgen
from skipgen.cli import app
from skipgen.language.limits import MAX_DEPTH, MAX_DIGITS, MAX_FILE_BYTES
from tests.hostile_helpers import fifo, link, run_guarded

SPEC = "name: Net\ninput: {channels: 3, size: 8}\nlayers:\n  - {type: conv, channels: 8}\n"
LONG = "1" * 5000  # past Python's 4,300-digit limit on converting text to an integer


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, list(map(str, args)))


def write(folder: Path, text: str, name: str = "net.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def assert_refused(result: Result, *expected: str) -> None:
    """Exit 1 with every ``expected`` text on stderr, and no traceback."""
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for text in expected:
        assert text in result.stderr, result.stderr
    assert "Traceback" not in result.output


# --- integers longer than Python converts ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (SPEC.replace("name: Net", f"name: {LONG}"), "net.yaml:1:7"),  # a string field
        (SPEC.replace("channels: 8", f"channels: {LONG}"), "net.yaml:4:28"),
        (SPEC.replace("channels: 8", f"channels: 0x{'f' * 5000}"), "net.yaml:4:28"),
        (SPEC.replace("channels: 8", f"channels: -{LONG}"), "net.yaml:4:28"),
        (SPEC + f"? {LONG}\n: 1\n", "net.yaml:5:3"),  # a key (a plain one has 1,024 at most)
    ],
    ids=["string-field", "decimal", "hexadecimal", "negative", "key"],
)
def test_an_integer_too_long_for_python_is_a_located_error(
    tmp_path: Path, text: str, where: str
) -> None:
    result = run("validate", write(tmp_path, text))
    assert_refused(result, f"{where}: error: this integer has 5,000 digits")
    assert f"over {MAX_DIGITS} digits; quote it if it is text" in result.stderr


def test_an_integer_of_the_most_digits_is_read_and_then_bounded(tmp_path: Path) -> None:
    most = "9" * MAX_DIGITS
    result = run("validate", write(tmp_path, SPEC.replace("channels: 8", f"channels: {most}")))
    assert_refused(result, "net.yaml:4:28: error: layers[0].channels: must be at most 65536")


def test_an_integer_too_long_for_python_through_set(tmp_path: Path) -> None:
    result = run("validate", write(tmp_path, SPEC), "--set", f"input.size={LONG}")
    assert_refused(result, "error: the value: this integer has 5,000 digits", "quote it")
    assert LONG not in result.stderr  # the option is quoted by its start only


def test_an_integer_too_long_to_write_out_is_named_in_a_message() -> None:
    data = {"name": 10**5000, "input": {"channels": 3}, "layers": [{"type": "conv"}]}
    with pytest.raises(skipgen.SpecError) as info:
        skipgen.load_spec(data)
    messages = [d.message for d in info.value.diagnostics]
    assert f"name: expected a string, got an integer of over {MAX_DIGITS} digits" in messages


# --- --set keys ------------------------------------------------------------------------------


# superscript 2, fullwidth 1, Arabic-Indic 3: str.isdigit() holds, int() reads some of them
@pytest.mark.parametrize("index", ["\u00b2", "\uff11", "\u0663", "1\u00b2"])
def test_only_ascii_digits_index_a_list(tmp_path: Path, index: str) -> None:
    option = f"layers.{index}.channels=16"
    result = run("validate", write(tmp_path, SPEC), "--set", option)
    assert_refused(
        result,
        f"--set {option}: error: layers is a list: {index!r} is not an index",
        "hint: an index is written in the digits 0-9",
    )


def test_an_index_too_long_for_python_is_past_the_end(tmp_path: Path) -> None:
    result = run("validate", write(tmp_path, SPEC), "--set", f"layers.{LONG}.channels=16")
    assert_refused(result, "error: layers has no item 1111", "hint: layers has 1 items")
    assert LONG not in result.stderr


def test_a_set_key_deeper_than_a_spec_nests_is_refused(tmp_path: Path) -> None:
    spec = write(tmp_path, SPEC)
    deepest = ".".join(["a"] * MAX_DEPTH)
    result = run("validate", spec, "--set", f"{deepest}=1")
    assert_refused(result, "a: unknown key 'a'")  # checked as the file's keys are
    too_deep = ".".join(["a"] * 30_000)
    result = run("validate", spec, "--set", f"{too_deep}=1")
    assert_refused(
        result, f"error: the key is 30,000 levels deep, more than a spec nests ({MAX_DEPTH})"
    )
    assert too_deep not in result.stderr


# --- what a spec file may be -----------------------------------------------------------------


def test_a_fifo_is_refused_without_waiting_on_it(tmp_path: Path) -> None:
    fifo(tmp_path / "net.yaml")
    result = run_guarded(tmp_path, "validate", "net.yaml")
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(
        "net.yaml:1:1: error: cannot read the spec: it is a named pipe (FIFO), not a regular file"
    )
    assert "regular files only (a link to one is fine)" in result.stderr


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_link_to_a_device_is_refused_without_reading_it(tmp_path: Path, device: str) -> None:
    link(tmp_path / "net.yaml", device)
    result = run_guarded(tmp_path, "validate", "net.yaml")
    assert result.returncode == 1, result.stderr
    assert "net.yaml:1:1: error: cannot read the spec: it is a device" in result.stderr


def test_a_device_named_directly_is_refused(tmp_path: Path) -> None:
    link(tmp_path / "unused.yaml", "/dev/zero")  # skips where there is no /dev/zero
    result = run_guarded(tmp_path, "validate", "/dev/zero")
    assert result.returncode == 1, result.stderr
    assert "/dev/zero:1:1: error: cannot read the spec: it is a device" in result.stderr


def test_a_link_to_a_spec_is_read(tmp_path: Path) -> None:
    write(tmp_path, SPEC, "real.yaml")
    result = run("validate", link(tmp_path / "net.yaml", tmp_path / "real.yaml"))
    assert result.exit_code == 0, result.output


def test_a_spec_of_the_size_limit_is_read_and_one_byte_more_is_not(tmp_path: Path) -> None:
    padding = MAX_FILE_BYTES - len(SPEC) - len("#\n")
    most = write(tmp_path, SPEC + "#" + "x" * padding + "\n", "most.yaml")
    assert most.stat().st_size == MAX_FILE_BYTES
    assert run("validate", most).exit_code == 0
    over = write(tmp_path, SPEC + "#" + "x" * (padding + 1) + "\n", "over.yaml")
    assert_refused(
        run("validate", over),
        f"over.yaml:1:1: error: cannot read the spec: it is {MAX_FILE_BYTES + 1:,} bytes long;"
        f" a spec or block file may be {MAX_FILE_BYTES:,} (1 MiB)",
        "hint: a published network's spec is a few KB",
    )


def test_a_very_large_spec_is_refused_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    with path.open("wb") as file:
        file.truncate(303_000_000)  # sparse where the file system allows: nothing is written
    assert_refused(run("validate", path), "it is 303,000,000 bytes long")


def test_spec_text_over_the_size_limit_is_refused() -> None:
    text = f'name: "{"a" * MAX_FILE_BYTES}"\n'
    with pytest.raises(skipgen.SpecError) as info:
        skipgen.load_spec(text)
    (diagnostic,) = info.value.diagnostics
    assert (diagnostic.file, diagnostic.line, diagnostic.col) == ("<string>", 1, 1)
    assert diagnostic.message.startswith(f"the text has {len(text):,} characters")


# --- text that is not a spec -----------------------------------------------------------------

PASSWORDS = (
    "root:$6$Zq8rT1saltsalt$Hx9hashhashhashhashhashhashhashhashhashhash:0:0:Admin: root\n"
    "bob:$6$Pp0saltsalt$Kk1hashhashhashhashhashhashhashhashhashhash:1:1:Bob: /home/bob\n"
)


def test_a_file_that_is_not_a_spec_is_named_so_without_quoting_its_lines(tmp_path: Path) -> None:
    result = run("validate", link(tmp_path / "net.yaml", write(tmp_path, PASSWORDS, "passwd")))
    assert_refused(
        result,
        "net.yaml:1:1: error: this is not a skipgen spec: it has none of the keys name, input, "
        "layers",
    )
    assert "$6$" not in result.stderr and "hash" not in result.stderr


def test_a_long_unknown_key_is_quoted_by_its_start(tmp_path: Path) -> None:
    key = "k" * 40 + "SECRET" * 20
    result = run("validate", write(tmp_path, SPEC + f"{key}: 1\n"))
    assert_refused(result, f"net.yaml:5:1: error: {'k' * 40}…: unknown key '{'k' * 40}'…")
    assert "SECRET" not in result.stderr


def test_a_typo_in_every_key_still_gets_its_hints(tmp_path: Path) -> None:
    typos = "nmae: Net\ninptu: {channels: 3}\nlayer:\n  - {type: conv, channels: 8}\n"
    result = run("validate", write(tmp_path, typos))
    assert_refused(result, "unknown key 'nmae'", "did you mean 'name'?")


# --- the Python API: a path or YAML text -----------------------------------------------------


def test_a_name_without_its_suffix_is_not_read_as_yaml_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, SPEC)
    with pytest.raises(skipgen.SpecError) as info:
        skipgen.load_spec("net")
    (diagnostic,) = info.value.diagnostics
    assert diagnostic.message == "'net' is neither a spec's YAML text (a mapping) nor a file"
    assert diagnostic.hint == "'net.yaml' exists: give the file's full name"


@pytest.mark.parametrize("folder", [".", "configs"])
def test_a_folder_is_refused_as_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").mkdir()
    with pytest.raises(skipgen.SpecError) as info:
        skipgen.load_spec(folder)
    (diagnostic,) = info.value.diagnostics
    assert diagnostic.file == folder
    assert diagnostic.message == "cannot read the spec: it is a folder"
    assert diagnostic.hint == "name a .yaml file inside it"


def test_a_string_that_names_no_file_and_is_one_word_says_so() -> None:
    with pytest.raises(skipgen.SpecError) as info:
        skipgen.load_spec("no-such-spec")
    assert "give a path ending in .yaml" in str(info.value)


def test_set_given_one_string_is_one_change(tmp_path: Path) -> None:
    spec = write(tmp_path, SPEC)
    assert skipgen.load_spec(spec, set="name=Other").name == "Other"
    assert skipgen.load_spec(spec, set=("name=Other", "input.size=16")).input.size == [16]


def test_set_given_something_else_than_strings_is_a_type_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="set= takes 'key=value' strings; item 1 is of type int"):
        skipgen.load_spec(write(tmp_path, SPEC), set=["name=Other", 3])  # type: ignore[list-item]


def test_a_path_object_is_always_a_path(tmp_path: Path) -> None:
    spec = write(tmp_path, SPEC, "net")  # no suffix
    assert skipgen.load_spec(spec).name == "Net"
    assert skipgen.load_spec(os.fspath(spec)).name == "Net"  # it exists: a path too


def test_the_readme_states_the_file_depth_and_digit_bounds() -> None:
    from skipgen.composite.library import MAX_INCLUDED

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert MAX_FILE_BYTES == 1 << 20
    assert "| a spec file, an included block file (each) | 1 MiB |" in readme
    assert f"| nesting of a document, levels of a `--set` key | {MAX_DEPTH} |" in readme
    assert f"| digits of an integer | {MAX_DIGITS} |" in readme
    assert f"| included block files (all together) | {MAX_INCLUDED} |" in readme
