"""The language: what a spec may say, and where it said it.

YAML read safely with every node's position (load.py, yaml12.py), the pydantic models of a
spec and its shared vocabulary (models.py, vocabulary.py, shortcut.py), every bound
(limits.py), the names a spec may not take (reserved.py), ``--set`` (overrides.py) and the
mapping of pydantic's error locations back to lines (locate.py). The kinds' own models live
beside their lowering in :mod:`skipgen.kinds`.
"""
