"""The block kinds of the language, one torch-free module each.

A kind module holds the kind's pydantic model (its YAML schema), its facts as class
attributes (default skip, attribute prefix, the ``skipgen.nn`` blocks it builds, ...) and
its lowering. :mod:`skipgen.kinds.registry` collects them and derives every table the rest
of the package reads.
"""
