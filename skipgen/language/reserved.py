"""Names a spec may not use, because the generated module already does."""

from __future__ import annotations

import builtins
import keyword
import unicodedata

from skipgen.library.nn import library, library_names

# Names a generated network class or its forward() already uses: every public attribute of
# torch.nn.Module in recent PyTorch releases (a test keeps this list complete), the names
# the emitted file imports or defines, and forward's own variable.
MODULE_ATTRIBUTES = frozenset(
    [
        "T_destination",
        "add_module",
        "apply",
        "bfloat16",
        "buffers",
        "call_super_init",
        "children",
        "compile",
        "cpu",
        "cuda",
        "double",
        "dump_patches",
        "eval",
        "extra_repr",
        "float",
        "forward",
        "get_buffer",
        "get_extra_state",
        "get_parameter",
        "get_submodule",
        "half",
        "ipu",
        "load_state_dict",
        "modules",
        "mtia",
        "named_buffers",
        "named_children",
        "named_modules",
        "named_parameters",
        "parameters",
        "register_backward_hook",
        "register_buffer",
        "register_forward_hook",
        "register_forward_pre_hook",
        "register_full_backward_hook",
        "register_full_backward_pre_hook",
        "register_load_state_dict_post_hook",
        "register_load_state_dict_pre_hook",
        "register_module",
        "register_parameter",
        "register_state_dict_post_hook",
        "register_state_dict_pre_hook",
        "requires_grad_",
        "set_extra_state",
        "set_submodule",
        "share_memory",
        "state_dict",
        "to",
        "to_empty",
        "train",
        "training",
        "type",
        "xpu",
        "zero_grad",
    ]
)
# The top-level names of skipgen/nn, which the emitted file may define: read from its source.
BLOCK_NAMES = frozenset(library().definitions)
GENERATED_NAMES = (
    MODULE_ATTRIBUTES
    | library_names()  # what the emitted file defines or imports, read from skipgen/nn
    | {"x", "self", "torch", "nn", "F", "Tensor", "Optional", "math", "typing", "input", "super"}
    | {"x_in"}  # forward keeps its input there when a layer reads it (`from: input`)
    | {"feature_info"}  # what the network tells about its outputs, as timm's backbones do
    | {"fuse", "conv_norm_pairs"}  # model.fuse() folds norms, the pairs it reads
    | {"l", "O", "I"}  # easily mistaken for 1 and 0; linters reject them
)
# The emitted file calls builtins (`super`, `range`, `len`, `isinstance`, ...): a network or a
# forward() local of the same name would shadow one. All of them are reserved, not only the
# ones used today.
BUILTIN_NAMES = frozenset(name for name in dir(builtins) if not name.startswith("_"))
RESERVED_NAMES = GENERATED_NAMES | BUILTIN_NAMES

_ASCII_HINT = (
    "a name becomes Python source: use ASCII letters, digits and _, starting with a letter"
)


def name_problem(value: str, what: str) -> tuple[str, str] | None:
    """Why ``value`` cannot be the ``what`` (a name or id) in generated source, and a hint."""
    if not value.isascii():
        # Python reads identifiers in NFKC form: '\uff46orward' (fullwidth f) is 'forward'.
        read_as = unicodedata.normalize("NFKC", value)
        also = f" (Python would read it as {read_as!r})" if read_as != value else ""
        return f"{what} {value!r} has characters outside ASCII{also}", _ASCII_HINT
    if not value.isidentifier():
        return (
            f"{what} {value!r} is not a Python identifier (ASCII letters, digits, _)",
            _ASCII_HINT,
        )
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        return f"{what} {value!r} is a Python keyword", "choose another name"
    if value.startswith("_"):
        message = f"{what} {value!r} starts with '_': such names are private in Python"
        return message, "start the name with a letter"
    if value in GENERATED_NAMES:
        message = f"{what} {value!r} is reserved by the generated module"
        return message, "the generated module defines or uses this name itself: choose another"
    if value in BUILTIN_NAMES:
        message = f"{what} {value!r} is a Python builtin"
        return message, "the generated module may call it, and this name would shadow it"
    return None
