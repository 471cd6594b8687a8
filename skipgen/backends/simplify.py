"""One copied definition, simplified for the arguments its uses pass.

Given what is known of a function's parameters (or a class's ``__init__``'s), each round
walks the definition with an environment of known names and edits its text:

- an ``if`` whose test every possibility decides becomes the branch taken, and in the
  branches of one it cannot decide a name tested against literals is narrowed;
- statements after a ``return`` or ``raise`` go, and so do argument checks (``if ...:
  raise``) in code that runs only while the network is built: the compiler has checked
  those arguments, and the runtime backend builds the same layers from them;
- a parameter that every use leaves at its default is written as that value and leaves
  the signature (with the docstring's paragraphs about it); a local or ``self.x``
  assigned once with a literal is written as it; a compound expression every
  possibility agrees on is written as its value;
- a call of a library function whose body comes down to one ``return`` is replaced by
  that expression (``conv_nd(2)`` by ``nn.Conv2d``), a call that comes down to nothing
  goes, and an argument equal to its parameter's default goes.

Rounds repeat until the text stops changing; the last one records the calls of library
definitions (:class:`Use`) that the text still makes.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass, field

from skipgen.backends import rewrite as rw
from skipgen.backends.fold import Env, Lit, Made, Value, Values, path_text, printable
from skipgen.backends.library_view import LibraryView, Use, facts, parse_definition
from skipgen.backends.simplify_class import DefinitionWalk, all_args, loads, stored
from skipgen.backends.simplify_finish import finish

_MAX_ROUNDS = 40


@dataclass
class Simplified:
    text: str
    uses: list[Use] = field(default_factory=list)
    names: set[str] = field(default_factory=set)  # library names the text mentions


def simplify(
    lib: LibraryView,
    name: str,
    text: str,
    known: dict[str, Values],
    fixed: dict[str, str],
    stack: tuple[str, ...] = (),
) -> Simplified:
    """``text`` (the definition of ``name``) simplified until it no longer changes."""
    key = (name, text, frozenset(known.items()), frozenset(fixed.items()))
    if key in lib.cache:
        cached: Simplified = lib.cache[key]
        return cached
    original = text
    for _ in range(_MAX_ROUNDS):
        round_ = Round(lib, name, text, known, fixed, (*stack, name))
        new = round_.run()
        if new == text:
            if text != original:
                text = finish(text, set(fixed))
            names = set(facts(text).names)
            result = Simplified(text, round_.uses, names & set(lib.texts))
            lib.cache[key] = result
            return result
        text = new
    raise RuntimeError(f"internal error: {name} did not settle")


def _is_guard(node: ast.If) -> bool:
    """``if ...: raise ...`` (messages may be put together first)."""
    *before, last = node.body
    if node.orelse or not isinstance(last, ast.Raise):
        return False
    return all(
        isinstance(s, ast.Assign) and not any(isinstance(n, ast.Call) for n in ast.walk(s))
        for s in before
    )


def _atomic(node: ast.expr) -> bool:
    return isinstance(node, ast.Name | ast.Attribute | ast.Constant | ast.Call | ast.Subscript)


class Round(DefinitionWalk):
    """One walk over the definition: the edits it finds and the calls it sees."""

    def __init__(
        self,
        lib: LibraryView,
        name: str,
        text: str,
        known: dict[str, Values],
        fixed: dict[str, str],
        stack: tuple[str, ...],
        readonly: bool = False,
    ) -> None:
        self.readonly = readonly
        self.lib, self.name, self.known, self.fixed, self.stack = lib, name, known, fixed, stack
        self.src = rw.Text(text)
        self.node = parse_definition(text)
        self.edits: list[rw.Edit] = []
        self.uses: list[Use] = []
        self.names: set[str] = set()
        self.quiet = 0  # inside an edited statement: the next round looks at it again
        self.subst: dict[str, str] = {}  # names written as their value
        self.construction = lib.construction_only(name)
        self.locals: set[str] = set()
        self.counts: dict[str, int] = {}
        self.attrs: dict[str, int] = {}  # how often a class assigns each self.x
        self.init_attrs: dict[str, int] = {}  # and how often its __init__ does
        self.facts: dict[str, Values] = {}  # what __init__ assigns to self.x, once
        self.attr_subst: dict[str, str] = {}
        self.in_init = False
        self.fn: ast.AST = self.node
        self.deleted: set[int] = set()
        self.tainted: set[str] = set()  # names that hold a value read from a kept parameter
        self.returned_value: ast.expr | None = None

    def specialised(self, name: str, known: dict[str, Values], fixed: dict[str, str]) -> str:
        text = self.lib.texts[name]
        return simplify(self.lib, name, text, known, fixed, self.stack).text

    def run(self) -> str:
        node = self.node
        if isinstance(node, ast.FunctionDef):
            self.function(node, dict(self.known), self.construction, self.known)
            self.signature(node, node)
        elif isinstance(node, ast.ClassDef):
            self.klass(node)
        else:
            self.names |= loads(node) & self.lib.names
            return self.src.text
        return rw.apply(self.src.text, self.edits)

    # -- functions and statements ------------------------------------------------------

    def function(
        self,
        fn: ast.FunctionDef,
        env: dict[str, Values],
        construction: bool,
        params: dict[str, Values],
    ) -> None:
        saved = (self.construction, self.locals, self.counts, dict(self.subst))
        self.construction = construction
        self.counts = stored(fn)
        self.locals = set(self.counts) | {a.arg for a in all_args(fn.args)}
        self.subst = dict(self.attr_subst)
        saved_fn, self.fn = self.fn, fn
        for arg, text in self.fixed.items() if params is self.known else ():
            if arg not in self.counts:
                self.subst[arg] = text
        if params is self.known:  # a parameter that stays is read as itself
            self.tainted |= {a.arg for a in all_args(fn.args)} - set(self.fixed) - {"self"}
        self.block(fn.body, env, top=True)
        if self.emptied(fn.body):  # nothing left, not even a docstring
            first, last = fn.body[0], fn.body[-1]
            start = self.src.line_start(self.src.first_line(first)) - 1  # around the deletions
            end = self.src.lines_span(first.lineno, last.end_lineno or first.lineno)[1]
            self.edit(rw.Edit(start, end, "\n" + " " * first.col_offset + "pass\n"))
        self.construction, self.locals, self.counts, self.subst = saved
        self.fn = saved_fn

    def block(self, stmts: list[ast.stmt], env: dict[str, Values], top: bool = False) -> bool:
        """Walk ``stmts``, updating ``env``; whether the block always ends in a jump."""
        for i, stmt in enumerate(stmts):
            if any(v == frozenset() for v in env.values()):  # a name no value reaches here
                self.delete(stmts[i:])
                return True
            if self.statement(stmt, env, top):
                if i + 1 < len(stmts):
                    self.delete(stmts[i + 1 :])
                return True
        return False

    def delete(self, stmts: list[ast.stmt]) -> None:
        if not self.quiet and not self.readonly:
            self.deleted.update(id(s) for s in stmts)
        self.edit(rw.delete_statements(self.src, stmts[0], stmts[-1]))

    def emptied(self, stmts: list[ast.stmt]) -> bool:
        return bool(stmts) and all(id(s) in self.deleted for s in stmts)

    def empty_blocks(self, stmt: ast.stmt) -> None:
        """A compound statement whose blocks lost every statement: an ``if`` with a pure
        test goes; any other block keeps a ``pass``."""
        blocks: list[list[ast.stmt]] = [
            block for f in ("body", "orelse", "finalbody") if (block := getattr(stmt, f, None))
        ]
        pure = isinstance(stmt, ast.If) and self.lib.pure(stmt.test)
        if pure and all(self.emptied(b) for b in blocks):
            self.delete([stmt])
            return
        for block in blocks:
            if self.emptied(block):
                first = block[0]
                start = self.src.line_start(self.src.first_line(first))
                end = self.src.lines_span(first.lineno, block[-1].end_lineno or 0)[1]
                self.edit(rw.Edit(start, end, " " * first.col_offset + "pass\n"))

    def edit(self, edit: rw.Edit) -> None:
        if not self.quiet and not self.readonly:
            self.edits.append(edit)

    def statement(self, stmt: ast.stmt, env: dict[str, Values], top: bool) -> bool:
        if isinstance(stmt, ast.If):
            return self.if_statement(stmt, env)
        if isinstance(stmt, ast.Return | ast.Raise):
            self.returned_value = stmt.value if isinstance(stmt, ast.Return) else None
            self.expressions(stmt, env)
            self.returned_value = None
            return True
        if isinstance(stmt, ast.Assign | ast.AnnAssign):
            self.assignment(stmt, env, top)
            return False
        call = isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
        if call and self.inline(stmt.value, env) == "":  # type: ignore[attr-defined]
            self.delete([stmt])
            return False
        if isinstance(stmt, ast.For) and self.lib.evaluator(env).values(stmt.iter) == frozenset(
            {Lit(())}
        ):
            self.delete([stmt])  # a loop over nothing
            return False
        if isinstance(stmt, ast.For | ast.While | ast.With | ast.Try | ast.AugAssign):
            for name in stored(stmt):
                env[name] = None
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            self.escape_all(stmt)
            return False
        self.expressions(stmt, env)
        for body in ("body", "orelse", "finalbody"):
            if isinstance(getattr(stmt, body, None), list) and getattr(stmt, body):
                self.block(getattr(stmt, body), dict(env))
        for handler in getattr(stmt, "handlers", []):
            self.block(handler.body, dict(env))
        self.empty_blocks(stmt)
        return False

    def if_statement(self, stmt: ast.If, env: dict[str, Values]) -> bool:
        if self.construction and _is_guard(stmt):
            self.delete([stmt])
            return False
        test = self.lib.evaluator(env).decided(stmt.test)
        if test is not None:
            self.edit(rw.choose_branch(self.src, stmt, test))
            self.quiet += 1
            ends = self.block(stmt.body if test else stmt.orelse, env)
            self.quiet -= 1
            return ends
        self.expressions_of(stmt.test, env)
        taken, skipped = self.narrow(stmt.test, env)
        body_env, else_env = {**env, **taken}, {**env, **skipped}
        body_ends = self.block(stmt.body, body_env)
        else_ends = self.orelse(stmt, else_env)
        merged = body_env if else_ends else else_env if body_ends else _merge(body_env, else_env)
        env.clear()
        env.update(merged)
        self.empty_blocks(stmt)
        return body_ends and else_ends

    def orelse(self, stmt: ast.If, env: dict[str, Values]) -> bool:
        inner = stmt.orelse[0] if len(stmt.orelse) == 1 else None
        if isinstance(inner, ast.If) and rw.else_line(self.src, stmt) == inner.lineno:
            test = self.lib.evaluator(env).decided(inner.test)
            if test is False:
                self.edit(rw.drop_orelse_branch(self.src, stmt))
                self.quiet += 1
            ends = self.if_statement_chained(inner, env, test)
            if test is False:
                self.quiet -= 1
            return ends
        return self.block(stmt.orelse, env)

    def if_statement_chained(
        self, inner: ast.If, env: dict[str, Values], test: bool | None
    ) -> bool:
        if test is None:
            self.expressions_of(inner.test, env)
            taken, skipped = self.narrow(inner.test, env)
            body_env, else_env = {**env, **taken}, {**env, **skipped}
            body_ends = self.block(inner.body, body_env)
            else_ends = self.orelse(inner, else_env) if inner.orelse else False
            env.update(_merge(body_env, else_env))
            return body_ends and else_ends
        if test:
            first = inner.body[0]
            column = self.src.indent(inner.lineno)
            body = rw.replace_statement(self.src, inner, inner.body).text
            start = self.src.line_start(inner.lineno)
            end = self.src.lines_span(inner.lineno, inner.end_lineno or first.lineno)[1]
            self.edit(rw.Edit(start, end, " " * column + "else:\n" + _reindent(body, column + 4)))
            self.quiet += 1
            ends = self.block(inner.body, env)
            self.quiet -= 1
            return ends
        return self.orelse(inner, env) if inner.orelse else False

    def narrow(self, test: ast.expr, env: dict[str, Values]) -> tuple[Env, Env]:
        """The one known name ``test`` reads, split by the values that pass it."""
        names = [n for n in ast.walk(test) if isinstance(n, ast.Name | ast.Attribute)]
        keys = {path_text(n) or "" for n in names} & {k for k, v in env.items() if v}
        if len(keys) != 1:
            return {}, {}
        (key,) = keys
        known = env[key]
        assert known is not None
        taken: set[Value] = set()
        skipped: set[Value] = set()
        for value in known:
            verdict = self.lib.evaluator({**env, key: frozenset({value})}).decided(test)
            if verdict is None:
                return {}, {}
            (taken if verdict else skipped).add(value)
        return {key: frozenset(taken)}, {key: frozenset(skipped)}

    def assignment(
        self, stmt: ast.Assign | ast.AnnAssign, env: dict[str, Values], top: bool
    ) -> None:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        value = stmt.value
        if value is None:
            return
        self.expressions(stmt, env)
        bound = self.bound(value, env)
        values = frozenset({bound}) if bound else self.lib.evaluator(env).values(value)
        made = bool(values) and all(isinstance(v, Made) for v in values or ())
        # a new layer's class is all that is known of it: only what picks the class counts
        tainted = self.reads_tainted(value.func if made and isinstance(value, ast.Call) else value)
        if tainted:
            for node in targets:
                elements = node.elts if isinstance(node, ast.Tuple) else [node]
                self.tainted |= {path_text(e) or "" for e in elements}
        target = targets[0] if len(targets) == 1 else None
        key = path_text(target) if target is not None else None
        if key is not None and isinstance(value, ast.Name) and value.id == key:
            self.delete([stmt])  # x = x
            return
        if self.in_init and key is not None and key.startswith("self."):
            self.attribute(key, values, stmt, top)
        if isinstance(target, ast.Name) and key is not None:
            text = printable(values)
            if top and text is not None and self.counts.get(key) == 1 and not tainted:
                self.subst[key] = text
                if not self.read(key):  # once every read is written as the value
                    self.delete([stmt])
            elif not self.read(key) and self.inert(value, values):
                self.delete([stmt])
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
            for sub_target, sub_value in zip(target.elts, value.elts, strict=False):
                sub_key = path_text(sub_target)
                if sub_key:
                    env[sub_key] = self.lib.evaluator(env).values(sub_value)
            return
        for node in targets:
            for sub in ast.walk(node):
                sub_key = path_text(sub) if isinstance(sub, ast.Name | ast.Attribute) else None
                if sub_key and isinstance(getattr(sub, "ctx", None), ast.Store):
                    env[sub_key] = None
        if key is not None:
            env[key] = values

    def inert(self, node: ast.expr, values: Values) -> bool:
        """Whether computing ``node`` does nothing but give its value: a pure expression,
        or a new ``nn.Identity`` (which draws no random numbers, holds nothing)."""
        return self.lib.pure(node) or values == frozenset({Made("nn.Identity")})

    def read(self, name: str) -> bool:
        return name in loads(self.fn)

    # -- expressions -------------------------------------------------------------------

    def expressions(self, stmt: ast.stmt, env: Env) -> None:
        """The expressions ``stmt`` evaluates (not its annotation, not nested blocks)."""
        for field_name, value in ast.iter_fields(stmt):
            if field_name in ("body", "orelse", "finalbody", "handlers", "annotation"):
                continue
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, ast.expr):
                    self.expressions_of(item, env)
                elif isinstance(item, ast.withitem):
                    self.expressions_of(item.context_expr, env)

    def escape_all(self, node: ast.AST) -> None:
        for name in loads(node) & self.lib.names:
            self.names.add(name)
            self.uses.append(Use(name, None))


def _merge(a: dict[str, Values], b: dict[str, Values]) -> dict[str, Values]:
    merged: dict[str, Values] = {}
    for key in a.keys() | b.keys():
        left, right = a.get(key), b.get(key)
        merged[key] = None if left is None or right is None else left | right
    return merged


def _reindent(block: str, column: int) -> str:
    return textwrap.indent(textwrap.dedent(block), " " * column)
