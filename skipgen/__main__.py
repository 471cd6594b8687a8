"""``python -m skipgen``: the ``skipgen`` command, finding what the console script finds.

Under ``-m`` Python puts the current folder first on ``sys.path``; the console script does
not. Left there, a folder's ``*.dist-info`` would register plugins and its modules would
be imported when a spec names them: a spec read in someone else's folder would run that
folder's code. So the entry goes before the command looks anything up, and plugins come
only from installed distributions, as for ``skipgen``. (skipgen itself is already
imported by then, so ``python -m skipgen`` still runs from a source checkout.)
"""

import os
import sys


def _drop_current_folder() -> None:
    """Remove the current folder that ``-m`` put first on ``sys.path`` (none under ``-P``)."""
    if sys.flags.safe_path or not sys.path:
        return
    first = sys.path[0]
    if first == "" or os.path.abspath(first) == os.getcwd():
        del sys.path[0]


_drop_current_folder()

from skipgen.cli import main  # noqa: E402  (after the import path is settled)

main()
