"""The centroid cache: a JSON file written atomically, computed by one
process at a time (a POSIX file lock where the system has one)."""

import contextlib
import json
import os
import os.path as osp
import socket

from mmengine.logging import print_log

try:
    import fcntl
except ImportError:  # not POSIX (Windows): no lock, atomic writes only
    fcntl = None


@contextlib.contextmanager
def exclusive(path):
    """Hold an exclusive lock on ``path`` (created if needed). Where the
    system or the file system has no locks, nothing is held: concurrent
    processes then compute the same cache, each written atomically."""
    try:
        os.makedirs(osp.dirname(path), exist_ok=True)
        f = open(path, 'a')
    except OSError as err:
        raise OSError(
            f'ClassUniformDataset: cannot write the centroid cache next to '
            f'{path} ({err}); set cache_dir to a writable folder'
        ) from None
    with f:
        if fcntl is None:
            yield
            return
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print_log(
                'ClassUniformDataset: another process is computing the '
                f'centroids (lock {path}); waiting for it',
                logger='current',
            )
            fcntl.flock(f, fcntl.LOCK_EX)
        except OSError:  # e.g. ENOLCK on some network file systems
            pass
        yield  # closing the file releases the lock


def read_cache(cache):
    """The centroids stored in ``cache``, or None if it does not exist."""
    if not osp.isfile(cache):
        return None
    try:
        with open(cache) as f:
            stored = json.load(f)
        return {
            int(c): [tuple(v) for v in items] for c, items in stored.items()
        }
    except (OSError, ValueError, TypeError, AttributeError) as err:
        raise ValueError(
            f'ClassUniformDataset: centroid cache {cache} is unreadable '
            f'({err}); delete it to recompute it'
        ) from None


def write_cache(cache, centroids):
    """Write ``cache`` atomically, through a temporary file no other
    process writes (so concurrent writers never trip over each other)."""
    partial = f'{cache}.{socket.gethostname()}.{os.getpid()}.partial'
    try:
        with open(partial, 'w') as f:
            json.dump({str(c): v for c, v in centroids.items()}, f)
        os.replace(partial, cache)
    except OSError as err:
        if osp.exists(partial):
            os.remove(partial)
        raise OSError(
            f'ClassUniformDataset: cannot write the centroid cache '
            f'{cache} ({err}); set cache_dir to a writable folder'
        ) from None
