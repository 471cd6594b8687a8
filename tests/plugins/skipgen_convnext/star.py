"""An nn module the emitter cannot copy: a star import."""

from torch.nn import *  # noqa: F403


class Star(Module):  # noqa: F405
    pass
