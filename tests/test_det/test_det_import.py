"""sfseg.det stays out of ``import sfseg``."""

import os
import subprocess
import sys

from knet_helpers import REPO


def run(code):
    out = subprocess.run(
        [sys.executable, '-c', code],
        env=dict(os.environ, PYTHONPATH=REPO),
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_import_sfseg_does_not_load_sfseg_det_or_knet():
    code = (
        'import sys\n'
        'import sfseg\n'
        "print(sorted(m for m in sys.modules if m.startswith('sfseg.det')))\n"
        "print('mmdet.registry' in sys.modules and __import__("
        "'mmdet.registry').registry.MODELS.get('KNet') is not None)\n"
    )
    det_modules, knet_registered = run(code).split('\n')[:2]
    assert det_modules == '[]'
    assert knet_registered == 'False'


def test_import_sfseg_works_with_mmdet_blocked():
    code = (
        'import sys\n'
        'class _Block:\n'
        '    def find_spec(self, name, path=None, target=None):\n'
        "        if name == 'mmdet' or name.startswith('mmdet.'):\n"
        "            raise ModuleNotFoundError('mmdet blocked')\n"
        'sys.meta_path.insert(0, _Block())\n'
        'import sfseg\n'
        "assert 'mmdet' not in sys.modules\n"
        "print('ok')\n"
    )
    assert run(code).strip() == 'ok'


def test_sfseg_det_registers_into_mmdet():
    code = (
        'import sfseg.det\n'
        'from mmdet.registry import MODELS, TASK_UTILS\n'
        "names = ['KNet', 'ConvKernelHead', 'KernelIterHead', "
        "'KernelUpdateHead', 'KernelUpdator', 'SemanticFPNWrapper', "
        "'KNetFusionHead']\n"
        'print([n for n in names if MODELS.get(n) is None])\n'
        "print(TASK_UTILS.get('MaskCost').__module__)\n"
    )
    missing, cost_module = run(code).split('\n')[:2]
    assert missing == '[]'
    assert cost_module == 'sfseg.det.knet.mask_cost'
