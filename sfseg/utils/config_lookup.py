"""Finding a config file from what a user typed: a path, an sfseg config
name or ``sfseg::<folder>/<name>.py``."""

import glob
import os
import os.path as osp

from .user_errors import SFSegUserError

PACKAGE_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SCOPE = 'sfseg::'


class ConfigNotFoundError(SFSegUserError, FileNotFoundError):
    """No config file of that path or sfseg name."""


def config_roots():
    """Where sfseg's configs live: the installed package's ``.mim`` copy
    (what mim uses) and, for a source checkout, the repository's."""
    repo = osp.dirname(PACKAGE_ROOT)
    roots = [osp.join(PACKAGE_ROOT, '.mim', 'configs')]
    if osp.isfile(osp.join(repo, 'setup.py')):
        # a source checkout: its configs win over a stale .mim copy
        roots.insert(0, osp.join(repo, 'configs'))
    return [r for r in roots if osp.isdir(r)]


def _find_in_roots(name):
    """Configs under the roots at ``name`` (a relative path) or, for a
    bare file name, anywhere below them; the first root that has it."""
    for root in config_roots():
        if osp.dirname(name):
            found = [f for f in [osp.join(root, name)] if osp.isfile(f)]
        else:
            found = glob.glob(osp.join(root, '**', name), recursive=True)
        if len(found) > 1:
            raise ConfigNotFoundError(
                f'config name {name} is ambiguous: {sorted(found)}'
            )
        if found:
            return found[0]
    return None


def resolve_config(path):
    """The config file meant by ``path``.

    Accepts what ``mim train sfseg`` accepts, so the tools, ``mim run`` and
    :func:`sfseg.apis.init_model` take the same names: an existing file;
    ``sfseg::<folder>/<name>.py`` (mmengine's scope syntax); a bare config
    name (``sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py``, ``.py``
    optional); or a path relative to sfseg's ``configs/`` folder.
    """
    path = os.fspath(path)
    if path.startswith(SCOPE):
        name = path[len(SCOPE) :]
    elif osp.isfile(path):
        return path
    else:
        name = path
    if not name.endswith('.py'):
        name += '.py'
    name = name[len('configs/') :] if name.startswith('configs/') else name
    found = _find_in_roots(name)
    if found is None:
        raise ConfigNotFoundError(
            f'config file not found: {path} (neither a file nor an sfseg '
            f'config under {", ".join(config_roots()) or "configs/"})'
        )
    return found
