"""Every config, generated as source: deterministic, standalone and equivalent.

That the files are clean (ruff, mypy, pyright) is checked in ``test_source_clean``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import skipgen
from tests.backends.helpers import as_list, assert_equivalent, input_shape, load_module
from tests.conftest import CONFIGS

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")


@pytest.fixture(params=CONFIGS, ids=[c.stem for c in CONFIGS])
def config(request: pytest.FixtureRequest) -> Path:
    return request.param


def test_deterministic(config: Path) -> None:
    first = skipgen.generate_source(config)
    assert skipgen.generate_source(config) == first
    code = (
        "import sys, skipgen; sys.stdout.buffer.write("
        f"skipgen.generate_source({str(config)!r}).encode()); "
        "assert 'torch' not in sys.modules"
    )
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env)
        assert result.returncode == 0, result.stderr.decode()
        assert result.stdout.decode() == first


# The child runs with -I -S: no environment variables, no user site, and no site-packages
# processing, so no .pth hook (an editable install of skipgen is one) runs. Only the folder
# of torch (which holds its dependencies too) and the folder of the generated file are put
# on sys.path, and ``sys.modules["skipgen"] = None`` makes any import of skipgen fail even
# where skipgen is installed in that same folder.
CLEAN_CHILD = """
import sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
sys.modules["skipgen"] = None
try:
    import skipgen
except ImportError:
    pass
else:
    raise AssertionError("skipgen is importable")
import torch
module = __import__(sys.argv[3])
torch.manual_seed(0)
model = getattr(module, sys.argv[4])().eval()
x = torch.randn(*map(int, sys.argv[5].split(",")), generator=torch.Generator().manual_seed(1))
with torch.no_grad():
    torch.save(model(x), sys.argv[6])
assert [name for name in sys.modules if name.startswith("skipgen")] == ["skipgen"]
"""


def test_imports_in_a_clean_interpreter(config: Path, tmp_path: Path) -> None:
    graph = skipgen.lower_spec(config)
    shape = input_shape(config, graph, batch=1)
    (tmp_path / "standalone_net.py").write_text(skipgen.generate_source(config))
    torch_site = str(Path(torch.__file__).resolve().parent.parent)
    out = tmp_path / "out.pt"
    args = [str(tmp_path), torch_site, "standalone_net", graph.name, ",".join(map(str, shape))]
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", CLEAN_CHILD, *args, str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr

    torch.manual_seed(0)  # the same seed gives the same initial weights in both backends
    model = skipgen.build_model(graph).eval()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = model(x)
    for a, b in zip(as_list(torch.load(out)), as_list(expected), strict=True):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)


def test_equivalent_to_build_model(config: Path, tmp_path: Path) -> None:
    graph = skipgen.lower_spec(config)
    module = load_module(skipgen.generate_source(config), tmp_path)
    assert_equivalent(graph, getattr(module, graph.name), input_shape(config, graph))


def test_torchscript(config: Path, tmp_path: Path) -> None:
    graph = skipgen.lower_spec(config)
    module = load_module(skipgen.generate_source(config), tmp_path)
    model = getattr(module, graph.name)().eval()
    scripted = torch.jit.script(model)
    x = torch.randn(*input_shape(config, graph, batch=1))
    with torch.no_grad():
        for a, b in zip(as_list(scripted(x)), as_list(model(x)), strict=True):
            assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)
