"""Auto-resume that checks the checkpoint it picks.

mmengine's ``find_latest_checkpoint`` returns whatever ``last_checkpoint``
names: a truncated newest file stops ``--resume`` with a raw
``PytorchStreamReader`` error, and the absolute path it holds no longer
exists once the work dir is moved. :func:`find_verified_checkpoint`
resolves the name (relative to the work dir, or an absolute path whose
file now sits in the work dir), checks the file (torch's zip archive:
every record's CRC) and otherwise falls back to the newest earlier
``iter_*`` / ``epoch_*`` checkpoint that passes, with one warning naming
both. :func:`patch_resume` makes the Runner use it (``--resume`` of any
tool, sfseg's or mmseg's).
"""

import glob
import logging
import os.path as osp
import re
import zipfile

from mmengine.logging import print_log

PICKLE_START = bytes([0x80])
_NUMBERED = re.compile(r'(?:iter|epoch)_(\d+)\.pth$')


def checkpoint_is_complete(path):
    """Whether ``path`` is a whole torch zip archive (every CRC matches);
    a legacy (pickle, pre-1.6) file cannot be checked and is taken."""
    try:
        if not zipfile.is_zipfile(path):
            with open(path, 'rb') as f:
                return f.read(1) == PICKLE_START
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (OSError, zipfile.BadZipFile, EOFError):
        return False


def _number(path):
    m = _NUMBERED.search(osp.basename(path))
    return int(m.group(1)) if m else -1


def _named(work_dir):
    """The checkpoint ``last_checkpoint`` names, resolved, or None."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        name = f.read().strip()
    if not name:
        return None
    if not osp.isabs(name):
        return osp.join(work_dir, name)
    moved = osp.join(work_dir, osp.basename(name))
    if not osp.exists(name) and osp.exists(moved):
        return moved  # the work dir was moved or renamed
    return name


def find_verified_checkpoint(work_dir):
    """The newest complete checkpoint of ``work_dir`` to resume from: the
    one ``last_checkpoint`` names, else (one warning) the newest earlier
    numbered checkpoint that is complete; None when there is none."""
    named = _named(work_dir)
    found = sorted(
        glob.glob(osp.join(work_dir, '*_*.pth')), key=_number, reverse=True
    )
    found = [p for p in found if _number(p) >= 0]
    if named is not None:
        limit = _number(named)
        found = [named] + [
            p
            for p in found
            if osp.abspath(p) != osp.abspath(named)
            and (limit < 0 or _number(p) < limit)
        ]
    for path in found:
        if checkpoint_is_complete(path):
            if named is not None and path != named:
                _warn_once(
                    (named, path),
                    f'{named} is missing or incomplete; resuming from '
                    f'{path}, the newest complete checkpoint before it',
                )
            return path
    if named is not None:
        _warn_once(
            (named, None),
            f'{named} is missing or incomplete and no earlier complete '
            f'checkpoint is in {work_dir}; starting from the beginning',
        )
    return None


_WARNED = set()


def _warn_once(key, message):
    # train.py and the Runner both look for the checkpoint to resume
    if key not in _WARNED:
        _WARNED.add(key)
        print_log(message, logger='current', level=logging.WARNING)


def patch_resume():
    """Let the Runner's auto-resume use :func:`find_verified_checkpoint`."""
    import mmengine.runner.runner as runner_module

    runner_module.find_latest_checkpoint = find_verified_checkpoint
