"""Names a spec may not use, because the generated module already does."""

from __future__ import annotations

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
# The top-level names of skipgen/nn, which the emitted file may define (a test checks it).
BLOCK_NAMES = frozenset(
    [
        "ConvNormAct",
        "NormAct",
        "Shortcut",
        "BasicBlock",
        "Bottleneck",
        "SqueezeExcitation",
        "InvertedResidual",
        "DenseLayer",
        "DenseBlock",
        "Transition",
        "UpConv",
        "Classifier",
        "conv_nd",
        "conv_transpose_nd",
        "norm_layer",
        "act_layer",
        "pool_layer",
        "global_pool",
        "same_padding",
        "projection",
        "check_skip",
        "combine",
        "drop_path",
    ]
)
RESERVED_NAMES = (
    MODULE_ATTRIBUTES
    | BLOCK_NAMES
    | {"x", "self", "torch", "nn", "F", "Tensor", "Optional", "math", "typing", "input", "super"}
    | {"l", "O", "I"}  # easily mistaken for 1 and 0; linters reject them
)
