"""Inference on CUDA: half precision against fp32, sfseg against the
official code, the ONNX export, and the CUDA benchmark itself.

Models carry seeded random weights (``build_segmentor``) and see a
generated 512x1024 street scene. Tolerances, in max abs logit difference
relative to the largest fp32 logit and argmax (label) agreement:
fp16 2e-2 and 99 %, bf16 1e-1 and 97 % (bf16 keeps 8 mantissa bits to
fp16's 11; the CPU bf16 tests use the same bounds); fp32 paths (official
code, ONNX Runtime) 1e-4 with TF32 off.
"""

import os

import numpy as np
import pytest
import torch
from cuda_marker import CUDA
from tool_loader import load_tool

from sfseg import benchmark as lib
from sfseg.benchmark import (
    benchmark_inputs,
    build_segmentor,
    output_agreement,
    variant_runner,
)
from sfseg.utils import resolve_config

pytestmark = CUDA

bench = load_tool('tools/analysis_tools/benchmark.py')
CONFIGS = {
    'sfnet_r18': 'sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024.py',
    'sfnet_lite_r18': 'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024.py',
    'sfnet_stdc1': 'sfnet_stdc1_8xb2-56k_cityscapes-1024x1024.py',
}
SHAPE = (512, 1024)
# precision -> (max abs diff / largest logit, argmax agreement)
HALF = {'fp16': (2e-2, 0.99), 'bf16': (1e-1, 0.97)}


@pytest.fixture
def tf32_off():
    """fp32 convolutions and matmuls in full fp32 inside the test."""
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    saved = cudnn.allow_tf32, matmul.allow_tf32
    cudnn.allow_tf32 = matmul.allow_tf32 = False
    yield
    cudnn.allow_tf32, matmul.allow_tf32 = saved


def model_and_scene(family, shape=SHAPE):
    from sfseg.datasets.toy.driving import draw_scene

    model, _ = build_segmentor(resolve_config(CONFIGS[family]))
    scene = draw_scene(*shape, np.random.default_rng(0))[0]
    x, _ = benchmark_inputs(model, shape, scene)
    return model.eval().cuda(), x.cuda()


@pytest.mark.parametrize('precision', list(HALF))
@pytest.mark.parametrize('family', ['sfnet_r18', 'sfnet_lite_r18'])
def test_half_precision_agrees_with_fp32(family, precision, tf32_off):
    if precision == 'bf16' and not torch.cuda.is_bf16_supported(
        including_emulation=False
    ):
        pytest.skip(f'no native bf16 on {torch.cuda.get_device_name()}')
    model, x = model_and_scene(family)
    half = bench.VARIANTS[precision]
    # the same acceleration options in fp32, so only the precision differs
    fp32 = lib.BenchmarkVariant(half.options)
    with torch.no_grad():
        ref = variant_runner(model, fp32, x, None)()
        out = variant_runner(model, half, x, None)()
    assert out.dtype == torch.float32 and out.shape == ref.shape
    diff, agreement = output_agreement(out, ref)
    scale = float(ref.abs().max())
    tolerance, labels = HALF[precision]
    assert 0 < diff < tolerance * scale, (diff, scale)
    assert agreement > labels, agreement


@pytest.mark.skipif(
    not os.environ.get('SFSEGNETS_ROOT'),
    reason='SFSEGNETS_ROOT (a lxtGH/SFSegNets clone) not set',
)
@pytest.mark.parametrize('family', list(CONFIGS))
def test_official_and_sfseg_agree_on_cuda(family, tf32_off):
    from sfseg.official_checks.official_sfsegnets import official_logits
    from sfseg.official_checks.official_twin import official_twin

    model, _ = build_segmentor(resolve_config(CONFIGS[family]))
    official = official_twin(os.environ['SFSEGNETS_ROOT'], family, model)
    official.cuda()
    model.cuda()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 3, *SHAPE, generator=gen).cuda()
    with torch.no_grad():
        ref = official_logits(official, x)
        for name in ('eager', 'fold'):  # as built; BN folded
            out = variant_runner(model, bench.VARIANTS[name], x, None)()
            diff, agreement = output_agreement(out, ref)
            assert diff < 1e-4, (name, diff, float(ref.abs().max()))
            assert agreement > 0.9999, (name, agreement)


def test_onnx_export_of_the_cuda_model_in_onnx_runtime(tmp_path, tf32_off):
    """The graph exported from the model on the GPU gives its outputs in
    ONNX Runtime (CPU provider: the parity of the graph)."""
    from sfseg.deploy import OnnxRuntimeRunner, export_network

    model, x = model_and_scene('sfnet_lite_r18', (256, 512))
    path = str(tmp_path / 'model.onnx')
    export_network(model, path, (256, 512), dynamic=False)
    assert next(model.parameters()).is_cuda  # exported from a copy
    with torch.no_grad():
        ref = variant_runner(model, bench.VARIANTS['fold'], x, None)()
    out = OnnxRuntimeRunner(path, 4)(x.cpu().numpy())
    diff, agreement = output_agreement(torch.from_numpy(out), ref.cpu())
    assert diff < 1e-4 * float(ref.abs().max()) and agreement > 0.9999


def test_onnx_runtime_cuda_provider_with_io_binding(tmp_path, tf32_off):
    reason = lib.variant_skip_reason(bench.VARIANTS['onnx'], 'cuda')
    if reason:
        pytest.skip(reason)
    model, x = model_and_scene('sfnet_lite_r18', (256, 512))
    with torch.no_grad():
        ref = variant_runner(model, bench.VARIANTS['fold'], x, None)()
        try:  # the provider is listed but its CUDA libraries do not load
            run = variant_runner(
                model, bench.VARIANTS['onnx'], x, str(tmp_path)
            )
        except lib.VariantSkipped as reason:
            pytest.skip(str(reason))
        out = run()
    assert out.is_cuda and run().data_ptr() == out.data_ptr()
    diff, agreement = output_agreement(out, ref)
    assert diff < 1e-3 * float(ref.abs().max()) and agreement > 0.999


def test_cuda_benchmark_end_to_end(tmp_path):
    """benchmark.py --device cuda at a small size: every CUDA variant
    runs or is skipped with its reason, the GPU is in the report."""
    import json

    out = tmp_path / 'bench'
    bench.main([resolve_config(CONFIGS['sfnet_lite_r18']), '--device',
                'cuda', '--shape', '128', '256', '--variants', 'eager',
                'fold', 'fast', 'fp16', 'bf16', 'onnx', 'int8', '--rounds',
                '3', '--warmup', '2', '--out-dir', str(out)])  # fmt: skip
    result = json.loads((out / 'benchmark.json').read_text())
    assert result['gpu'] == torch.cuda.get_device_name()
    assert result['tf32'] == 'off' and result['cudnn_benchmark'] is True
    assert result['cuda'] == torch.version.cuda and result['driver']
    assert result['warmup'] == 2 and result['rounds'] == 3
    (row,) = result['rows']
    timed = set(row['variants']) | set(result['skipped'])
    assert timed == {'eager', 'fold', 'fast', 'fp16', 'bf16', 'onnx', 'int8'}
    assert {'eager', 'fold', 'fast', 'fp16'} <= set(row['variants'])
    assert 'int8' in result['skipped']
    for name in ('fold', 'fast'):
        assert row['variants'][name]['max_abs_diff'] < 1e-3
    for name, v in row['variants'].items():
        assert 0 < v['min_s'] <= v['median_s'] <= v['max_s']
        # ONNX Runtime allocates outside torch's allocator: 0 there
        assert v['peak_mb'] > 0 or name == 'onnx', name
    table = (out / 'benchmark.md').read_text()
    assert f'GPU: {result["gpu"]}' in table and 'CUDA events' in table
