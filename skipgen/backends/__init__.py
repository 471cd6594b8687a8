"""Backends read only the lowered graph: ``torch`` builds modules, ``source`` writes code."""
