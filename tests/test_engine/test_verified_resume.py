"""Auto-resume checks the checkpoint it picks: a truncated newest file
falls back to the newest complete one, a moved work dir resumes, a save
that fails on a full disk names the file and leaves a resumable state."""

import os
import os.path as osp
import resource
import shutil
import signal

import torch
from toy_training import REPO, TOY, state
from toy_training import train as train_one

from sfseg.engine.resume import find_verified_checkpoint


def save(path, step):
    torch.save({'meta': {'iter': step}, 'state_dict': {}}, path)


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_picks_the_newest_complete_checkpoint(tmp_path, capsys):
    from mmengine.logging import MMLogger

    MMLogger.get_instance('verified_resume', log_level='INFO')
    assert find_verified_checkpoint(str(tmp_path)) is None
    for step in (2, 4, 6):
        save(tmp_path / f'iter_{step}.pth', step)
    (tmp_path / 'last_checkpoint').write_text('iter_4.pth')  # relative
    assert find_verified_checkpoint(str(tmp_path)) == str(
        tmp_path / 'iter_4.pth'
    )
    truncate(tmp_path / 'iter_4.pth')
    capsys.readouterr()
    assert find_verified_checkpoint(str(tmp_path)) == str(
        tmp_path / 'iter_2.pth'
    )  # never the newer iter_6 that last_checkpoint does not name
    out = capsys.readouterr()
    text = out.out + out.err
    assert text.count('is missing or incomplete') == 1
    assert 'iter_4.pth' in text and 'iter_2.pth' in text
    # an absolute path from before the work dir was moved
    (tmp_path / 'last_checkpoint').write_text('/old/place/iter_6.pth')
    assert find_verified_checkpoint(str(tmp_path)) == str(
        tmp_path / 'iter_6.pth'
    )
    # no pointer: the newest complete numbered checkpoint
    os.remove(tmp_path / 'last_checkpoint')
    assert find_verified_checkpoint(str(tmp_path)).endswith('iter_6.pth')
    truncate(tmp_path / 'iter_2.pth')
    truncate(tmp_path / 'iter_6.pth')
    (tmp_path / 'last_checkpoint').write_text('iter_6.pth')
    assert find_verified_checkpoint(str(tmp_path)) is None


def limit_file_size(size):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        # a write past the limit then fails with EFBIG instead of a signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    return apply


def train(work, root, iters, resume=False, preexec=None):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    return train_one(TOY, work, root, env, resume, 2, iters, preexec)


def equal(a, b):
    a, b = state(a), state(b)
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_truncated_full_disk_and_moved_work_dir(toy_city, tmp_path):
    straight = tmp_path / 'straight'
    rc, out = train(straight, toy_city, 6)
    assert rc == 0, out[-3000:]
    assert (straight / 'last_checkpoint').read_text() == 'iter_6.pth'

    # truncated newest checkpoint: one warning, resumed from iter_2
    work = tmp_path / 'truncated'
    work.mkdir()
    for step in (2, 4):
        shutil.copy(straight / f'iter_{step}.pth', work)
    truncate(work / 'iter_4.pth')
    (work / 'last_checkpoint').write_text(str(work / 'iter_4.pth'))
    rc, out = train(work, toy_city, 6, resume=True)
    assert rc == 0, out[-3000:]
    assert out.count('is missing or incomplete; resuming from') == 1
    assert 'resumed epoch: 0, iter: 2' in out
    assert equal(straight / 'iter_6.pth', work / 'iter_6.pth')

    # full disk while saving iter_4: named, nothing partial, iter_2 intact
    work = tmp_path / 'full'
    rc, out = train(work, toy_city, 2)
    assert rc == 0, out[-3000:]
    size = osp.getsize(work / 'iter_2.pth')
    rc, out = train(
        work, toy_city, 6, resume=True, preexec=limit_file_size(size // 4)
    )
    assert rc != 0
    assert f'cannot write checkpoint {work / "iter_4.pth"}' in out
    assert 'File too large (errno 27)' in out, out[-3000:]
    assert (work / 'last_checkpoint').read_text() == 'iter_2.pth'
    assert sorted(p.name for p in work.iterdir() if 'iter_' in p.name) == [
        'iter_2.pth'
    ]
    # moved work dir, room again: resumes from iter_2 and ends as straight
    moved = tmp_path / 'moved'
    shutil.move(work, moved)
    rc, out = train(moved, toy_city, 6, resume=True)
    assert rc == 0, out[-3000:]
    assert 'resumed epoch: 0, iter: 2' in out
    assert equal(straight / 'iter_6.pth', moved / 'iter_6.pth')
