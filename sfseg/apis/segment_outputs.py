"""Writing a run's output files so that a killed run can be continued.

Every file is written under a temporary name and renamed
(:func:`write_png`), so a file under an output's name is complete;
:func:`remove_partials` clears the temporary files a killed run left and
:func:`pending` (``--skip-existing``) keeps the inputs whose outputs are
not all there.
"""

import os
import os.path as osp

import cv2

PARTIAL = '.{}.partial'


def partial_name(path):
    """The temporary name ``path`` is written under before the rename."""
    folder, name = osp.split(path)
    return osp.join(folder, PARTIAL.format(name))


def write_png(path, array):
    """Encode ``array`` (as ``cv2.imwrite`` would: BGR, or one channel of
    uint8 / uint16), write it under a temporary name, rename: a killed
    run never leaves a truncated PNG under the output's name."""
    folder = osp.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    ok, data = cv2.imencode('.png', array)
    if not ok:
        raise OSError(f'cannot encode {path}')
    tmp = partial_name(path)
    with open(tmp, 'wb') as f:
        f.write(data.tobytes())
    os.replace(tmp, path)


def remove_partials(out_dir, subdirs):
    """Remove the temporary files a killed run left in the ``subdirs`` of
    ``out_dir`` (walked recursively; other files are kept)."""
    for sub in subdirs:
        for root, _, files in os.walk(osp.join(out_dir, sub)):
            for name in files:
                if name.startswith('.') and name.endswith('.partial'):
                    os.remove(osp.join(root, name))


def pending(images, paths):
    """Those of ``images`` (``[(file, stem)]``) not all of whose output
    files ``paths(stem)`` exist; the others were done by an earlier run
    (complete, as every output is written by :func:`write_png`)."""
    return [
        (file, stem)
        for file, stem in images
        if not all(osp.isfile(p) for p in paths(stem))
    ]
