"""Load a command-line tool from ``tools/`` to test its front end.

Tools are scripts, not a package, and never import each other: library
code lives in ``sfseg``. A tool's own test loads the script by path
(``load_tool('tools/segment.py')``) to call its ``main(argv)`` or
argument parser in-process.
"""

import importlib.util
import os.path as osp
import sys

from common import REPO


def load_tool(path):
    """The module of ``tools/...`` script ``path`` (relative to the repo),
    loaded once per test session."""
    name = 'sfseg_tool_' + osp.splitext(path)[0].replace('/', '_')
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, osp.join(REPO, path)
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
