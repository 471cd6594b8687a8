"""The nn code a generated file copies, read as text: ``skipgen/nn`` (:mod:`.nn`) and the
nn modules of loaded plugins (:mod:`.plugins`), parsed with :mod:`ast`, never imported.

It sits below the language and the lowering, which read from it the names a generated
file takes (so that a spec cannot take them) and the literal defaults of each block's
signature (so that a call spells out only the arguments that differ); the source backend
copies its definitions. It imports nothing of skipgen but :mod:`skipgen.errors`.
"""
