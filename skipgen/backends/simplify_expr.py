"""The expressions of a definition being simplified: names written as their values,
compound expressions folded, library calls inlined, recorded, or cut to their arguments
that differ from the defaults (see :mod:`skipgen.backends.simplify`)."""

from __future__ import annotations

import ast
import builtins
from abc import abstractmethod

from skipgen.backends import rewrite as rw
from skipgen.backends.fold import Bound, Env, Values, path_text, printable
from skipgen.backends.library_view import Callee, LibraryView, Use, parse_definition

# torch's own defaults for the keyword arguments of its convolutions (its documented
# signatures): an argument that spells one out, once its value is known, goes.
_CONV_DEFAULTS = {"stride": "1", "padding": "0", "dilation": "1", "groups": "1"}
_TORCH_DEFAULTS = {f"nn.Conv{dims}d": _CONV_DEFAULTS for dims in (1, 2, 3)}
_FOLDED = (ast.Compare, ast.BoolOp, ast.UnaryOp, ast.BinOp, ast.IfExp, ast.Subscript)
_CONVERTERS = {"isinstance", "float", "int", "bool"}
_BUILTINS = frozenset(dir(builtins))


def _atomic(node: ast.expr) -> bool:
    return isinstance(node, ast.Name | ast.Attribute | ast.Constant | ast.Call | ast.Subscript)


def bind(callee: Callee, call: ast.Call) -> dict[str, ast.expr | None] | None:
    """Each parameter's argument (None: left at its default); None if not bindable."""
    if any(isinstance(a, ast.Starred) for a in call.args) or callee.starred:
        return None
    if any(k.arg is None for k in call.keywords):
        return None
    positional = [p for p in callee.params if p.positional]
    if len(call.args) > len(positional):
        return None
    bound: dict[str, ast.expr | None] = {p.name: None for p in callee.params}
    for param, arg in zip(positional, call.args, strict=False):
        bound[param.name] = arg
    for keyword in call.keywords:
        if keyword.arg not in bound or bound[keyword.arg] is not None:
            return None
        bound[keyword.arg] = keyword.value
    missing = [p for p in callee.params if p.default is None and bound[p.name] is None]
    return None if missing else bound


class ExpressionWalk:
    """The expression half of a simplifying round; :class:`~.simplify.Round` is the rest."""

    lib: LibraryView
    src: rw.Text
    subst: dict[str, str]
    locals: set[str]
    stack: tuple[str, ...]
    uses: list[Use]
    names: set[str]
    readonly: bool  # a text that is read for its calls, not edited
    returned_value: ast.expr | None  # the value of the return statement being walked
    tainted: set[str]

    @abstractmethod
    def edit(self, edit: rw.Edit) -> None: ...

    @abstractmethod
    def specialised(self, name: str, known: dict[str, Values], fixed: dict[str, str]) -> str: ...

    def reads_tainted(self, node: ast.AST) -> bool:
        """Whether ``node`` reads a parameter that stays, or a name computed from one:
        such a value is never written out, or the parameter would be ignored."""
        for sub in ast.walk(node):
            key = path_text(sub) if isinstance(sub, ast.Name | ast.Attribute) else None
            if key in self.tainted:
                return True
        return False

    def replace(self, node: ast.AST, text: str, atom: bool = False) -> None:
        """``node`` written as ``text``; an ``atom`` (a value) drops the parentheses that
        grouped the expression it replaces (not those of a call or a subscript)."""
        if self.src.segment(node) == text:
            return
        start, end = self.src.span(node)
        source = self.src.text
        grouped = source[start - 1 : start] == "(" and source[end : end + 1] == ")"
        before = source[start - 2 : start - 1]
        if atom and grouped and not (before.isalnum() or before in ("_", ")", "]")):
            start, end = start - 1, end + 1
        self.edit(rw.Edit(start, end, text))

    def expressions_of(self, node: ast.expr, env: Env) -> None:
        key = path_text(node) if isinstance(node, ast.Name | ast.Attribute) else None
        if key is not None and isinstance(getattr(node, "ctx", None), ast.Load):
            if key in self.subst:
                self.replace(node, self.subst[key], atom=True)
                return
            if key in self.lib.names and key not in self.locals:
                self.names.add(key)
                if key in self.lib.callees:
                    self.uses.append(Use(key, None))  # passed on: its uses are not seen
        if isinstance(node, ast.Call) and self.call(node, env):
            return
        if isinstance(node, ast.IfExp | ast.BoolOp) and self.shorten(node, env):
            return
        if (isinstance(node, _FOLDED) or _is_conversion(node)) and not self.reads_tainted(node):
            text = printable(self.lib.evaluator(env).values(node))
            if text is not None:
                self.replace(node, text, atom=True)
                return
        if isinstance(node, ast.Lambda):
            return
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.expressions_of(child, env)
            elif isinstance(child, ast.keyword):
                self.expressions_of(child.value, env)
            elif isinstance(child, ast.comprehension):
                self.expressions_of(child.iter, env)
                for condition in child.ifs:
                    self.expressions_of(condition, env)

    def shorten(self, node: ast.IfExp | ast.BoolOp, env: Env) -> bool:
        """An ``x if test else y`` whose test is known, or an ``and``/``or`` with operands
        known to pass, written as what remains."""
        evaluator = self.lib.evaluator(env)
        if isinstance(node, ast.IfExp):
            test = evaluator.decided(node.test)
            if test is None:
                return False
            self.replace(node, self.src.segment(node.body if test else node.orelse))
            return True
        skipped = evaluator.skippable(node)
        if not skipped:
            return False
        rest = [v for v in node.values if v not in skipped]
        joiner = " and " if isinstance(node.op, ast.And) else " or "
        parts = [
            f"({self.src.segment(v)})"
            if len(rest) > 1 and isinstance(v, ast.BoolOp | ast.IfExp)
            else self.src.segment(v)
            for v in rest
        ]
        self.replace(node, joiner.join(parts))
        return True

    def bound(self, node: ast.expr, env: Env) -> Bound | None:
        """What ``partial(callee, ...)`` binds, for a library definition ``callee``."""
        if not (isinstance(node, ast.Call) and _names_partial(node, self.lib)):
            return None
        first = node.args[0]
        assert isinstance(first, ast.Name)
        callee = self.lib.callees[first.id]
        positional = [p for p in callee.params if p.positional]
        if len(node.args) - 1 > len(positional) or any(k.arg is None for k in node.keywords):
            return None
        evaluator = self.lib.evaluator(env)
        values = [
            (p.name, evaluator.values(a)) for p, a in zip(positional, node.args[1:], strict=False)
        ]
        values += [(k.arg or "", evaluator.values(k.value)) for k in node.keywords]
        return Bound(callee.name, tuple(values), len(node.args) - 1)

    def partial_call(self, node: ast.Call, env: Env) -> bool:
        """``partial(callee, ...)``: its arguments are read; the calls of it are uses."""
        if not _names_partial(node, self.lib):
            return False
        first = node.args[0]
        assert isinstance(first, ast.Name)
        self.names.add(first.id)
        if self.bound(node, env) is None:
            self.uses.append(Use(first.id, None))
        for arg in [*node.args[1:], *(k.value for k in node.keywords)]:
            self.expressions_of(arg, env)
        return True

    def bound_call(self, node: ast.Call, env: Env) -> bool:
        """A call of a local that holds ``partial(callee, ...)``: a use of ``callee``."""
        name = node.func.id if isinstance(node.func, ast.Name) else ""
        held = env.get(name) if name in self.locals else None
        if not held or len(held) != 1:
            return False
        (bound,) = held
        if not isinstance(bound, Bound):
            return False
        callee = self.lib.callees[bound.callee]
        given = dict(bound.values)
        rest = Callee(
            callee.name,
            callee.is_class,
            tuple(
                p
                for i, p in enumerate(callee.params)
                if p.name not in given and not (p.positional and i < bound.positional)
            ),
            callee.starred,
        )
        binding = bind(rest, node)
        if binding is None:
            self.uses.append(Use(callee.name, None))
        else:
            evaluator = self.lib.evaluator(env)
            values: dict[str, Values] = {p.name: self.default(p.default) for p in callee.params}
            values.update(given)
            values.update({k: evaluator.values(a) for k, a in binding.items() if a is not None})
            passed = set(given) | {k for k, a in binding.items() if a is not None}
            self.uses.append(Use(callee.name, values, frozenset(passed)))
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            self.expressions_of(arg, env)
        return True

    def call(self, node: ast.Call, env: Env) -> bool:
        """Handle a call of a library definition; False for any other call."""
        if self.partial_call(node, env) or self.bound_call(node, env):
            return True
        name = node.func.id if isinstance(node.func, ast.Name) else None
        callee = self.lib.callees.get(name or "")
        if callee is None or name in self.locals:
            self.torch_defaults(node)
            return False
        self.names.add(callee.name)
        if not callee.is_class:
            text = self.inline(node, env)
            if text and (node is not self.returned_value or _typed(text)):
                self.replace(node, text)
                return True
        binding = bind(callee, node)
        if binding is None:
            self.uses.append(Use(callee.name, None))
        else:
            self.record(callee, node, binding, env)
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            self.expressions_of(arg, env)
        return True

    def record(
        self, callee: Callee, node: ast.Call, binding: dict[str, ast.expr | None], env: Env
    ) -> None:
        """Record the use, and drop the arguments that spell out a default."""
        values: dict[str, Values] = {}
        defaults: list[ast.expr] = []
        explicit: dict[int, str] = {}
        for param in callee.params:
            arg = binding[param.name]
            default = self.default(param.default)
            if arg is None:
                values[param.name] = default
                continue
            explicit[id(arg)] = param.name
            values[param.name] = self.lib.evaluator(env).values(arg)
            same = printable(values[param.name])
            pure = self.lib.pure(arg) and not self.reads_tainted(arg)
            if same is not None and same == printable(default) and pure:
                defaults.append(arg)
        dropped = set() if self.readonly else self.drop_arguments(node, defaults)
        passed = frozenset(name for key, name in explicit.items() if key not in dropped)
        self.uses.append(Use(callee.name, values, passed))

    def drop_arguments(self, node: ast.Call, defaults: list[ast.expr]) -> set[int]:
        """Drop the keyword arguments, and the last positional ones, that spell out a
        default; the ids of the values dropped."""
        keywords = {id(k.value): k for k in node.keywords}
        items: list[rw.Item] = [(a, a) for a in [*node.args, *node.keywords]]
        removed: list[rw.Item] = []
        for arg in reversed(node.args):  # positional ones only from the end
            if arg not in defaults or node.keywords:
                break
            removed.append((arg, arg))
        removed += [(keywords[id(a)], keywords[id(a)]) for a in defaults if id(a) in keywords]
        for edit in rw.remove_items(self.src, items, removed):
            self.edit(edit)
        return {id(a) for a in defaults if id(a) in keywords} | {id(i[0]) for i in removed}

    def torch_defaults(self, node: ast.Call) -> None:
        defaults = _TORCH_DEFAULTS.get(path_text(node.func) or "", {})
        spelled = [
            k
            for k in node.keywords
            if isinstance(k.value, ast.Constant)
            and defaults.get(k.arg or "") == self.src.segment(k.value)
        ]
        items: list[rw.Item] = [(a, a) for a in [*node.args, *node.keywords]]
        for edit in rw.remove_items(self.src, items, [(k, k) for k in spelled]):
            self.edit(edit)

    def default(self, node: ast.expr | None) -> Values:
        if node is None:
            return None
        return self.lib.evaluator({}).values(node)

    def inline(self, node: ast.Call, env: Env) -> str | None:
        """The call's expression when its callee comes down to one ``return`` for these
        arguments, "" when it comes down to nothing, else None."""
        name = node.func.id if isinstance(node.func, ast.Name) else ""
        callee = self.lib.callees.get(name)
        if callee is None or callee.is_class or name in self.stack or name in self.locals:
            return None
        if self.readonly or name in self.lib.recursive:
            return None
        binding = bind(callee, node)
        if binding is None:
            return None
        known: dict[str, Values] = {}
        fixed: dict[str, str] = {}
        for param in callee.params:
            arg = binding[param.name]
            values = self.default(param.default) if arg is None else self.value(arg, env)
            text = printable(values)
            if arg is None and text is None:
                return None
            named = isinstance(arg, ast.Name | ast.Attribute)
            if text is not None and not named and not (arg and self.reads_tainted(arg)):
                fixed[param.name] = text  # a name of the caller's stays a name
            known[param.name] = values
        text = self.specialised(name, known, fixed)
        return self.returned(text, binding, fixed)

    def value(self, arg: ast.expr, env: Env) -> Values:
        values = self.lib.evaluator(env).values(arg)
        return values

    def returned(
        self, text: str, binding: dict[str, ast.expr | None], fixed: dict[str, str]
    ) -> str | None:
        fn = parse_definition(text)
        assert isinstance(fn, ast.FunctionDef)
        body = [s for s in fn.body if not _is_docstring(s)]
        if _no_effect(body, self.lib):
            return ""
        if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
            return None
        returned = body[0].value
        source = rw.Text(text)
        edits = []
        counts: dict[str, int] = {}
        bare = {id(k.value) for k in ast.walk(returned) if isinstance(k, ast.keyword)}
        bare |= {id(a) for c in ast.walk(returned) if isinstance(c, ast.Call) for a in c.args}
        bare.add(id(returned))
        for sub in ast.walk(returned):
            if not isinstance(sub, ast.Name):
                continue
            arg = binding.get(sub.id)
            if sub.id in binding and sub.id not in fixed and arg is not None:
                counts[sub.id] = counts.get(sub.id, 0) + 1
                segment = self.src.segment(arg)
                needs = not _atomic(arg) and id(sub) not in bare
                segment = f"({segment})" if needs else segment
                start, end = source.span(sub)
                edits.append(rw.Edit(start, end, segment))
            elif sub.id in self.locals or sub.id not in self.lib.names | _BUILTINS:
                return None  # a name that would mean something else here
        for name, count in counts.items():
            arg = binding[name]
            if count > 1 and not isinstance(arg, ast.Name | ast.Attribute | ast.Constant):
                return None
        start, end = source.span(returned)
        inlined = source.text[start:end]
        for edit in sorted(edits, key=lambda e: e.start, reverse=True):
            a, b = edit.start - start, edit.end - start
            inlined = inlined[:a] + edit.text + inlined[b:]
        return None if "\n" in inlined else inlined


def _names_partial(node: ast.Call, lib: LibraryView) -> bool:
    return (
        isinstance(node.func, ast.Name)
        and node.func.id == "partial"
        and bool(node.args)
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id in lib.callees
    )


def _typed(text: str) -> bool:
    """Whether an expression's type shows without its operands' (a ``return`` of an
    ``Any``-typed sum would fail ``mypy --strict`` where the call it replaces did not)."""
    node = ast.parse(text, mode="eval").body
    return isinstance(node, ast.Call | ast.Constant)


def _no_effect(body: list[ast.stmt], lib: LibraryView) -> bool:
    """Whether running ``body`` changes nothing and returns nothing."""
    for stmt in body:
        if isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Return) and stmt.value is None):
            continue
        pure = isinstance(stmt, ast.If) and lib.pure(stmt.test)
        if pure and _no_effect(stmt.body, lib) and _no_effect(stmt.orelse, lib):  # type: ignore[attr-defined]
            continue
        return False
    return True


def _is_conversion(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _CONVERTERS
    )


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )
