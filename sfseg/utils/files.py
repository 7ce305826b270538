"""Comparing folders of outputs."""

import hashlib
import os
import os.path as osp


def tree_hash(root):
    """SHA-256 of the relative path and the bytes of every file under
    ``root``: two folders holding the same files hash the same."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = osp.join(folder, name)
            digest.update(osp.relpath(path, root).encode() + b'\0')
            with open(path, 'rb') as f:
                digest.update(f.read())
    return digest.hexdigest()
