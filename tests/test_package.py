import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from common import REPO

from sfseg.version import __version__


def test_import_works_without_mmdet_and_registers_into_mmseg():
    # mmseg itself imports mmdet when present; sfseg must not need it.
    code = (
        'import sys\n'
        'class _NoMMDet:\n'
        '    def find_spec(self, name, path=None, target=None):\n'
        "        if name == 'mmdet' or name.startswith('mmdet.'):\n"
        "            raise ModuleNotFoundError('mmdet blocked')\n"
        'sys.meta_path.insert(0, _NoMMDet())\n'
        'import sfseg\n'
        'from mmseg.registry import MODELS\n'
        "names = ['SFHead', 'SFLiteHead', 'SFDSNHead', 'SFNeck', "
        "'SFLiteNeck', 'SFResNetD', 'SFEncoderDecoder']\n"
        'missing = [n for n in names if MODELS.get(n) is None]\n'
        'assert not missing, missing\n'
        "assert 'mmdet' not in sys.modules\n"
        'print(sfseg.__version__)\n'
    )
    out = subprocess.run(
        [sys.executable, '-c', code],
        env=dict(os.environ, PYTHONPATH=REPO),
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == __version__


def test_import_works_where_fcntl_does_not_exist(tmp_path):
    """The centroid cache's file lock is POSIX only; ``import sfseg``
    must not need it (Windows has no fcntl)."""
    code = (
        'import sys\n'
        "sys.modules['fcntl'] = None\n"
        'import sfseg\n'
        'from sfseg.datasets.class_uniform import cache\n'
        'assert cache.fcntl is None\n'
        "with cache.exclusive(sys.argv[1] + '/lock'):\n"
        "    print('held')\n"
    )
    out = subprocess.run(
        [sys.executable, '-c', code, str(tmp_path)],
        env=dict(os.environ, PYTHONPATH=REPO),
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == 'held'


def test_no_mmdet_import_outside_sfseg_det():
    for dirpath, _, files in os.walk(osp.join(REPO, 'sfseg')):
        rel = osp.relpath(dirpath, REPO).split(os.sep)
        # sfseg/det is the mmdet part and official_checks/knet its checks;
        # sfseg/.mim holds the install's copies of configs/ and tools/
        # (some of them are mmdet tools)
        if rel[1:2] in (['det'], ['.mim']) or rel[1:3] == [
            'official_checks',
            'knet',
        ]:
            continue
        for name in files:
            if name.endswith('.py'):
                with open(osp.join(dirpath, name)) as f:
                    text = f.read()
                assert 'import mmdet' not in text, name
                assert 'from mmdet' not in text, name


def test_runner_checkpoints_load_under_new_torch(tmp_path):
    # A Runner checkpoint pickles mmengine objects; torch >= 2.6 refuses
    # them with weights_only=True unless sfseg's loader shim is active.
    from mmengine.logging import HistoryBuffer
    from mmengine.runner import CheckpointLoader

    path = tmp_path / 'ckpt.pth'
    torch.save(
        {'state_dict': {'w': torch.ones(2)}, 'buf': HistoryBuffer()}, path
    )
    ckpt = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2))
    with pytest.raises(FileNotFoundError, match='can not be found'):
        CheckpointLoader.load_checkpoint(str(tmp_path / 'missing.pth'))


def test_installed_package_ships_mim_files():
    import importlib.util

    spec = importlib.util.find_spec('sfseg')
    code = 'import sfseg, os.path as osp; print(osp.dirname(sfseg.__file__))'
    out = subprocess.run(
        [sys.executable, '-c', code],
        cwd='/',
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != 'PYTHONPATH'},
    )
    assert spec is not None
    assert out.returncode == 0, 'sfseg is not installed: run make install'
    root = out.stdout.strip()
    assert root != osp.join(REPO, 'sfseg'), 'expected a non-editable install'
    mim = osp.join(root, '.mim')
    for rel in (
        'model-index.yml',
        'tools/train.py',
        'tools/test.py',
        'tools/dist_train.sh',
        'tools/analysis_tools/get_flops.py',
        'configs/sfnet/sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py',
        'configs/_base_/models/sfnet_r18.py',
    ):
        assert osp.isfile(osp.join(mim, rel)), rel


def test_tests_mirror_the_packages():
    packages = {
        name
        for name in os.listdir(osp.join(REPO, 'sfseg'))
        if osp.isfile(osp.join(REPO, 'sfseg', name, '__init__.py'))
    }
    missing = [
        name
        for name in sorted(packages)
        if not osp.isdir(osp.join(REPO, 'tests', f'test_{name}'))
    ]
    assert not missing, f'packages without tests/test_<name>/: {missing}'
