"""Composite blocks: kinds written in the spec itself (``blocks:`` and ``include:``).

:mod:`~skipgen.composite.define` holds the definition and use models,
:mod:`~skipgen.composite.library` reads the definitions of a spec and its included files,
:mod:`~skipgen.composite.expr` checks and computes the ``"${...}"`` expressions of a body,
and :mod:`~skipgen.composite.expand` turns each use into an instance of its body, which
the lowering treats as a group of layers with a class and a skip of its own.
"""
