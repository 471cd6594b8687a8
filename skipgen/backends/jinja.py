"""The Jinja2 environment of the templates in ``templates/``: one per emitted construct.

The templates only place what Python prepared: every literal, docstring and comment is
made by :mod:`skipgen.backends.text` or :mod:`skipgen.backends.layout` first, so
autoescaping (which would write HTML entities into Python) stays off.
"""

from __future__ import annotations

from functools import lru_cache

import jinja2


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("skipgen", "backends/templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
