"""sfseg configs load where setuptools >= 82 removed ``pkg_resources``
(mmengine 0.10.7 resolves ``mmseg::`` / ``mmdet::`` bases through it)."""

import subprocess
import sys

import mmengine.utils.package_utils as original
import pytest
from common import REPO

from sfseg.utils import compat

CONFIGS = [
    'configs/sfnet/sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py',
    'configs/knet_panoptic/knet-s3_stdc1-fpn_8xb2-36e_cityscapes-panoptic.py',
]
# pkg_resources cannot be imported, as on setuptools >= 82
NO_PKG_RESOURCES = "import sys; sys.modules['pkg_resources'] = None\n"


@pytest.mark.parametrize(
    'package', ['mmsegmentation', 'mmseg', 'mmdet', 'mmengine', 'mmcv']
)
def test_the_lookups_give_the_answers_of_pkg_resources(package):
    assert compat._is_installed(package) == original.is_installed(package)
    assert compat._get_installed_path(package) == (
        original.get_installed_path(package)
    )


def test_module_names_and_missing_packages():
    assert compat._package2module('mmsegmentation') == 'mmseg'
    assert compat._package2module('mmsegmentation') == (
        original.package2module('mmsegmentation')
    )
    assert not compat._is_installed('sfseg_no_such_package')
    with pytest.raises(Exception, match='sfseg_no_such_package'):
        compat._get_installed_path('sfseg_no_such_package')


def load_configs(*imports):
    code = NO_PKG_RESOURCES + ''.join(f'import {m}\n' for m in imports)
    code += 'from mmengine.config import Config\n'
    code += ''.join(f'Config.fromfile({c!r})\n' for c in CONFIGS)
    return subprocess.run(
        [sys.executable, '-c', code + "print('loaded')"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_configs_load_without_pkg_resources():
    proc = load_configs()  # mmengine alone: the failure this mends
    assert proc.returncode != 0 and 'pkg_resources' in proc.stderr
    proc = load_configs('sfseg')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'loaded' in proc.stdout
