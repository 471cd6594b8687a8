"""The test plugin `skipgen_convnext`, visible as if installed: its package and its
``.dist-info`` (entry points) lie in this folder, which the fixture puts on ``sys.path``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PLUGINS = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def installed_plugin(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(PLUGINS))
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(PLUGINS), path])))
    return PLUGINS
