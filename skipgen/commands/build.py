"""Placeholder: being written."""


def build() -> None:
    """Not yet available."""
    raise SystemExit(2)
