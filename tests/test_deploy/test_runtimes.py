"""Which runtimes can run in this process: OpenVINO is refused, with the
reason, where ONEDNN_MAX_CPU_ISA caps oneDNN below the AVX-512 the CPU
has (its CPU plugin picks AVX-512 kernels anyway and fails or crashes)."""

import os.path as osp

import pytest
from common import REPO
from tool_loader import load_tool

from sfseg.deploy.runtimes import OpenVINORunner, openvino_refusal
from sfseg.utils import SFSegUserError, cpu_info

TOY = 'sfnet-lite_r18-d32_1xb4-800_toy-city-96x192.py'


@pytest.fixture
def cpu(monkeypatch):
    def set_cpu(flags):
        monkeypatch.setattr(
            cpu_info, '_cpuinfo', lambda: ('Mocked EPYC', frozenset(flags))
        )

    return set_cpu


@pytest.mark.parametrize(
    'flags, cap, refused',
    [
        ({'avx2', 'avx512f'}, 'AVX2', True),
        ({'avx2', 'avx512f'}, 'avx2_vnni_2', True),
        ({'avx2', 'avx512f'}, 'AVX512_CORE', False),
        ({'avx2', 'avx512f'}, 'ALL', False),
        ({'avx2', 'avx512f'}, None, False),
        ({'avx2'}, 'AVX2', False),  # an AVX2 CPU: nothing to pick wrongly
    ],
)
def test_openvino_refused_only_where_the_cap_forbids_its_kernels(
    cpu, monkeypatch, flags, cap, refused
):
    cpu(flags)
    if cap is None:
        monkeypatch.delenv('ONEDNN_MAX_CPU_ISA', raising=False)
    else:
        monkeypatch.setenv('ONEDNN_MAX_CPU_ISA', cap)
    reason = openvino_refusal()
    assert (reason is not None) == refused
    if refused:
        assert f'ONEDNN_MAX_CPU_ISA={cap.upper()}' in reason
        assert 'Mocked EPYC' in reason and 'onnxruntime' in reason
        with pytest.raises(SFSegUserError, match='OpenVINO does not run'):
            OpenVINORunner('never-read.onnx')


def test_verify_skips_a_runtime_that_cannot_run(
    cpu, monkeypatch, tmp_path, capsys
):
    """``pytorch2onnx.py --verify`` verifies every runtime that runs here
    and names the one it skips; asked for by name, it is refused."""
    cpu({'avx2', 'avx512f'})
    monkeypatch.setenv('ONEDNN_MAX_CPU_ISA', 'AVX2')
    tool = load_tool('tools/deployment/pytorch2onnx.py')
    config = osp.join(REPO, 'configs', 'toy', TOY)
    argv = [config, '--output', str(tmp_path / 'm.onnx'), '--shape', '64']
    argv += ['128', '--verify', '--static']
    tool.main(argv)
    text = capsys.readouterr().out
    assert 'verify openvino skipped: OpenVINO does not run' in text
    assert 'verify onnxruntime 64x128: max abs diff' in text
    with pytest.raises(SFSegUserError, match='OpenVINO does not run'):
        tool.main(argv + ['--verify-runtimes', 'openvino'])
