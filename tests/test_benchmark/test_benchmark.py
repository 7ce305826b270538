"""benchmark.py (front end) and sfseg.benchmark (what it times)."""

import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from common import REPO
from label_margins import assert_labels_where_decided, decided
from tool_loader import load_tool

from sfseg import benchmark as lib
from sfseg.acceleration import AccelerationOptions, cpu_info
from sfseg.benchmark import (
    BenchmarkVariant,
    benchmark_inputs,
    build_segmentor,
    output_agreement,
    quoted_miou,
    variant_runner,
)
from sfseg.models.official import family_of_config
from sfseg.utils import resolve_config

bench = load_tool('tools/analysis_tools/benchmark.py')
main, skipped_variants = bench.main, bench.skipped_variants
TOY = 'sfnet-lite_r18-d32_1xb4-800_toy-city-96x192.py'

LITE_R18 = osp.join(
    REPO,
    'configs',
    'sfnet_lite',
    'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024.py',
)


@pytest.mark.openvino
def test_benchmark_writes_table_json_and_plot(tmp_path):
    out = tmp_path / 'bench'
    main(
        [
            LITE_R18,
            '--variants',
            'eager',
            'nocache',
            'fold',
            'fast',
            'bf16',
            'onnx',
            'int8',
            'openvino',
            'openvino-int8',
            '--shape',
            '64',
            '128',
            '--rounds',
            '2',
            '--out-dir',
            str(out),
            '--force-bf16',
        ]
    )
    result = json.loads((out / 'benchmark.json').read_text())
    assert result['shape'] == [64, 128] and result['matmul_gflops'] > 1
    (row,) = result['rows']
    assert row['params'] == 12079863
    assert row['miou'].startswith('78.3')
    assert set(row['variants']) == {
        'eager',
        'nocache',
        'fold',
        'fast',
        'bf16',
        'onnx',
        'int8',
        'openvino',
        'openvino-int8',
    }
    for name, v in row['variants'].items():
        assert v['min_s'] <= v['median_s'] <= v['max_s']
        assert v['x_roofline'] > 0
    # fp32 variants change no output beyond 1e-4; bf16 agrees on most pixels
    for name in ('nocache', 'fold', 'fast', 'onnx', 'openvino'):
        assert row['variants'][name]['max_abs_diff'] < 1e-4
    assert row['variants']['bf16']['argmax_agreement'] > 0.9
    for name in ('int8', 'openvino-int8'):
        assert row['variants'][name]['argmax_agreement'] > 0.5
    assert result['device'] == 'cpu'
    assert result['cpu'] == cpu_info.describe()
    assert result['isa'] == cpu_info.isa_extensions()
    assert result['skipped'] == {}  # --force-bf16
    table = (out / 'benchmark.md').read_text()
    assert f'CPU: {cpu_info.describe()}' in table
    assert '| sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024 |' in table
    assert 'quoted' in table
    assert (out / 'speed_accuracy.png').stat().st_size > 10000


def test_bf16_is_skipped_without_native_bf16(monkeypatch, tmp_path):
    import torch

    cpu = torch.device('cpu')
    monkeypatch.setattr(
        cpu_info, '_cpuinfo', lambda: ('AMD EPYC', frozenset({'avx2'}))
    )
    skipped = skipped_variants(['eager', 'bf16'], cpu)
    assert set(skipped) == {'bf16'}
    assert skipped['bf16'].startswith('skipped: no native bf16 on AMD EPYC')
    assert skipped_variants(['eager', 'bf16'], cpu, force_bf16=True) == {}
    monkeypatch.setattr(
        cpu_info,
        '_cpuinfo',
        lambda: ('Xeon', frozenset({'avx2', 'avx512f', 'avx512_bf16'})),
    )
    assert skipped_variants(['eager', 'bf16'], cpu) == {}
    # the table says so
    monkeypatch.setattr(
        cpu_info, '_cpuinfo', lambda: ('AMD EPYC', frozenset({'avx2'}))
    )
    out = tmp_path / 'bench'
    main(
        [
            LITE_R18,
            '--variants',
            'eager',
            'bf16',
            '--shape',
            '64',
            '128',
            '--rounds',
            '1',
            '--out-dir',
            str(out),
        ]
    )
    result = json.loads((out / 'benchmark.json').read_text())
    assert set(result['rows'][0]['variants']) == {'eager'}
    assert result['native_bf16'] is False
    table = (out / 'benchmark.md').read_text()
    assert '| bf16 | skipped: no native bf16 on AMD EPYC (AVX2)' in table


def test_variant_registry_names_what_each_variant_runs():
    assert list(bench.VARIANTS)[:2] == ['nocache', 'eager']
    eager = bench.VARIANTS['eager']
    assert eager.backend == 'pytorch' and eager.precision == 'fp32'
    assert not eager.options.fold_bn and eager.options.grid_cache
    fast = bench.VARIANTS['fast'].options
    assert fast.channels_last and fast.nnpack and fast.fold_bn
    assert bench.VARIANTS['bf16'].precision == 'bf16'
    assert bench.VARIANTS['openvino-int8'] == BenchmarkVariant(
        backend='openvino', precision='int8'
    )
    lite_r18 = 'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024'
    assert family_of_config(lite_r18).name == 'sfnet_lite_r18'
    assert family_of_config(f'configs/sfnet_lite/{lite_r18}.py').name == (
        'sfnet_lite_r18'
    )
    assert family_of_config('sfnet-lite_r18-d32_1xb4-800_toy-city') is None


def test_benchmark_variant_refuses_what_cannot_run():
    with pytest.raises(ValueError, match='backend'):
        BenchmarkVariant(backend='tensorrt')
    with pytest.raises(ValueError, match='int8'):
        BenchmarkVariant(precision='int8')  # PyTorch has no int8 path
    with pytest.raises(ValueError, match='bf16'):
        BenchmarkVariant(backend='onnxruntime', precision='bf16')
    with pytest.raises(ValueError, match='default export'):
        BenchmarkVariant(AccelerationOptions(nnpack=True), 'onnxruntime')
    with pytest.raises(ValueError, match='runtime backends only'):
        BenchmarkVariant(warp='gather')


def test_build_segmentor_seeded_or_checkpoint_weights(tmp_path):
    config = resolve_config(TOY)
    a, cfg = build_segmentor(config)
    b, _ = build_segmentor(config)
    c, _ = build_segmentor(config, seed=1)
    assert a.training and 'init_cfg' not in cfg.model.backbone
    key = next(k for k in a.state_dict() if k.endswith('conv1.weight'))
    assert torch.equal(a.state_dict()[key], b.state_dict()[key])
    assert not torch.equal(a.state_dict()[key], c.state_dict()[key])
    path = str(tmp_path / 'c.pth')
    torch.save({'state_dict': c.state_dict()}, path)
    loaded, _ = build_segmentor(config, checkpoint=path)
    assert torch.equal(loaded.state_dict()[key], c.state_dict()[key])
    state = dict(c.state_dict())
    state.pop(key)
    torch.save({'state_dict': state}, path)
    with pytest.raises(Exception, match='does not fit'):
        build_segmentor(config, checkpoint=path)


def test_benchmark_inputs_noise_images_and_file(tmp_path):
    import mmcv

    from sfseg.datasets.toy.driving import draw_scene

    model, _ = build_segmentor(resolve_config(TOY))
    x, calib = benchmark_inputs(model, (32, 64), calib_count=2)
    assert x.shape == (1, 3, 32, 64) and len(calib) == 2
    assert calib[0].shape == (1, 3, 32, 64) and calib[0].dtype == np.float32
    assert torch.equal(x, benchmark_inputs(model, (32, 64))[0])
    scenes = [draw_scene(32, 64, np.random.default_rng(s))[0] for s in (0, 1)]
    scene, calib = benchmark_inputs(model, (32, 64), scenes[0], scenes)
    assert scene.shape == (1, 3, 32, 64) and len(calib) == 2
    assert torch.equal(scene, torch.from_numpy(calib[0]))
    # normalised by the model's data preprocessor (mean / std, RGB)
    mean = model.data_preprocessor.mean.flatten()
    std = model.data_preprocessor.std.flatten()
    pixel = torch.from_numpy(scenes[1][5, 7].astype(np.float32))
    assert torch.allclose(
        torch.from_numpy(calib[1][0, :, 5, 7]), (pixel - mean) / std
    )
    path = str(tmp_path / 'img.png')
    mmcv.imwrite(np.full((20, 30, 3), 128, np.uint8), path)  # resized
    image, calib = benchmark_inputs(model, (32, 64), path)
    assert image.shape == (1, 3, 32, 64) and calib == []
    assert torch.allclose(image[0, :, 0, 0], (128 - mean) / std, atol=1e-5)


def test_variant_runners_agree_with_the_model_as_built(tmp_path):
    model, _ = build_segmentor(resolve_config(TOY))
    x = torch.randn(1, 3, 64, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = variant_runner(model, bench.VARIANTS['nocache'], x, None)()
        assert ref.shape[:2] == (1, 19)
        for name in ('fast', 'nnpack', 'onnx', 'onnx-gather'):
            variant = bench.VARIANTS[name]
            out = variant_runner(model, variant, x, str(tmp_path), 1)()
            diff, agreement = output_agreement(out, ref)
            assert diff < 1e-4, name
            # argmax: equal wherever the logits decide it
            assert assert_labels_where_decided(ref, out) > 0.99, name
            assert agreement >= float(decided(ref, diff).float().mean())
    assert (tmp_path / 'model.onnx').is_file()
    assert (tmp_path / 'model.gather.onnx').is_file()


def test_output_agreement_resizes_and_counts_pixels():
    ref = torch.zeros(1, 2, 4, 4)
    ref[:, 1] = 1
    out = ref.clone()
    out[0, 0, 0, :2] = 3  # 2 of 16 pixels change their argmax
    diff, agreement = output_agreement(out, ref)
    assert diff == 3 and agreement == 14 / 16
    # a 2 x 2 map is upsampled to 4 x 4 first (constant maps stay so)
    diff, agreement = output_agreement(ref[:, :, ::2, ::2], ref)
    assert diff < 1e-6 and agreement == 1


def test_run_with_peak_memory_measures_the_call():
    # a fresh process: in a long one, freed pages still resident would
    # take the allocation without raising the resident high-water mark
    code = (
        'import json, torch\n'
        'from sfseg.benchmark import run_with_peak_memory\n'
        'out, peak = run_with_peak_memory(\n'
        '    lambda: torch.ones(1024, 1024, 16, dtype=torch.float64), "cpu")\n'
        'print(json.dumps([str(out.dtype), list(out.shape), peak]))\n'
    )
    proc = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dtype, shape, peak = json.loads(proc.stdout.splitlines()[-1])
    assert dtype == 'torch.float32' and shape == [1024, 1024, 16]
    assert peak is None or peak > 60  # 128 MB of float64, then a copy


def test_quoted_miou_of_metafiles(tmp_path):
    config = resolve_config(
        'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024.py'
    )
    assert quoted_miou(config).startswith('78.3')
    assert quoted_miou(str(tmp_path / 'no_metafile.py')) == '-'
    (tmp_path / 'metafile.yaml').write_text(
        'Models:\n- Name: x\n  Results:\n    Dataset: Cityscapes\n'
        '    Metrics: {mIoU: 70.1}\n'
    )
    assert quoted_miou(str(tmp_path / 'x.py')) == '70.1 (val)'
    assert quoted_miou(str(tmp_path / 'y.py')) == '-'


@pytest.mark.skipif(
    not os.environ.get('SFSEGNETS_ROOT'),
    reason='SFSEGNETS_ROOT (a lxtGH/SFSegNets clone) not set',
)
def test_official_twin_has_the_same_weights():
    from sfseg.official_checks.official_sfsegnets import official_logits
    from sfseg.official_checks.official_twin import official_twin

    config = resolve_config(
        'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024.py'
    )
    model, _ = build_segmentor(config)
    official = official_twin(
        os.environ['SFSEGNETS_ROOT'], 'sfnet_lite_r18', model
    )
    assert not official.training
    x = torch.randn(1, 3, 64, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = official_logits(official, x)
        out = variant_runner(model, bench.VARIANTS['eager'], x, None)()
    diff, agreement = output_agreement(out, ref)
    assert diff < 1e-3 * float(ref.abs().max()) and agreement > 0.99
    with pytest.raises(KeyError, match='unknown family'):
        official_twin(os.environ['SFSEGNETS_ROOT'], 'sfnet_r999', model)


# --- the CUDA path, with the CUDA queries mocked (docs/benchmark.md, GPU)


def test_fp16_is_cuda_only_and_skipped_on_the_cpu():
    fp16 = bench.VARIANTS['fp16']
    assert fp16.backend == 'pytorch' and fp16.precision == 'fp16'
    assert fp16.options == bench.VARIANTS['bf16'].options
    cpu = torch.device('cpu')
    skipped = skipped_variants(['eager', 'fp16', 'onnx'], cpu, True)
    assert skipped == {
        'fp16': 'skipped: fp16 runs on CUDA only (a CPU emulates it, many '
        'times slower than fp32)'
    }


@pytest.fixture
def mocked_gpu(monkeypatch):
    """``mocked_gpu(name, bf16, providers)``: what torch and ONNX Runtime
    say of a GPU that is not there."""
    import onnxruntime

    def make(name, bf16=True, providers=('CPUExecutionProvider',)):
        monkeypatch.setattr(torch.cuda, 'get_device_name', lambda d=0: name)
        monkeypatch.setattr(
            torch.cuda,
            'is_bf16_supported',
            lambda including_emulation=True: bf16 or including_emulation,
        )
        monkeypatch.setattr(
            onnxruntime, 'get_available_providers', lambda: list(providers)
        )

    return make


def test_cuda_variants_are_skipped_with_reasons(mocked_gpu):
    gpu = torch.device('cuda')
    names = ['eager', 'fp16', 'bf16', 'onnx', 'onnx-gather', 'int8']
    names += ['openvino']
    mocked_gpu('Tesla V100-SXM2-32GB', bf16=False)
    skipped = skipped_variants(names, gpu)
    assert set(skipped) == {'bf16', 'onnx', 'onnx-gather', 'int8', 'openvino'}
    # emulated bf16 (is_bf16_supported() alone says True) is not timed
    assert skipped['bf16'] == (
        'skipped: no native bf16 on Tesla V100-SXM2-32GB (compute '
        'capability 8.0, Ampere, or later)'
    )
    assert skipped['onnx'].startswith('skipped: onnxruntime ')
    assert (
        'has no CUDAExecutionProvider (CPUExecutionProvider)'
        in (skipped['onnx'])
    )
    assert skipped['int8'] == (
        'skipped: onnxruntime int8 runs on the CPU only (--device cpu)'
    )
    assert 'openvino fp32 runs on the CPU only' in skipped['openvino']
    mocked_gpu(
        'NVIDIA H100 80GB HBM3',
        providers=('CUDAExecutionProvider', 'CPUExecutionProvider'),
    )
    assert set(skipped_variants(names, gpu)) == {'int8', 'openvino'}


def test_a_variant_that_cannot_start_is_reported_not_fatal(
    monkeypatch, tmp_path
):
    real = lib.variant_runner

    def runner(model, variant, *args, **kwargs):
        if variant.backend == 'onnxruntime':  # e.g. no CUDA provider
            raise lib.VariantSkipped('skipped: no CUDA provider (mocked)')
        return real(model, variant, *args, **kwargs)

    monkeypatch.setattr(lib, 'variant_runner', runner)
    out = tmp_path / 'bench'
    main([resolve_config(TOY), '--variants', 'eager', 'onnx', '--shape',
          '32', '64', '--rounds', '1', '--out-dir', str(out)])  # fmt: skip
    result = json.loads((out / 'benchmark.json').read_text())
    assert set(result['rows'][0]['variants']) == {'eager'}
    assert result['skipped'] == {'onnx': 'skipped: no CUDA provider (mocked)'}
    assert '| onnx | skipped: no CUDA provider (mocked) |' in (
        (out / 'benchmark.md').read_text()
    )


class FakeEvent:
    """A ``torch.cuda.Event`` stand-in: 12.5 ms between the pair."""

    log = []

    def __init__(self, enable_timing=False):
        assert enable_timing
        self.log.append('event')

    def record(self):
        self.log.append('record')

    def synchronize(self):
        self.log.append('synchronize')

    def elapsed_time(self, end):
        assert isinstance(end, FakeEvent)
        return 12.5


def test_time_call_between_cuda_events():
    FakeEvent.log = []
    fn = lambda: FakeEvent.log.append('call')  # noqa: E731
    assert lib.time_call(fn, 'cuda:0', event=FakeEvent) == 0.0125
    assert FakeEvent.log == [
        'event', 'event', 'record', 'call', 'record', 'synchronize'
    ]  # fmt: skip
    # the CPU: wall clock around the call
    import time

    assert 0.01 <= lib.time_call(lambda: time.sleep(0.01), 'cpu') < 1


def test_configure_cuda_sets_and_states_tf32():
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    saved = (cudnn.benchmark, cudnn.allow_tf32, matmul.allow_tf32)
    try:
        assert lib.configure_cuda(False) == dict(
            cudnn_benchmark=True, tf32='off'
        )
        assert cudnn.benchmark and not cudnn.allow_tf32
        assert not matmul.allow_tf32
        assert lib.configure_cuda(True)['tf32'] == 'on'
        assert cudnn.allow_tf32 and matmul.allow_tf32
    finally:
        cudnn.benchmark, cudnn.allow_tf32, matmul.allow_tf32 = saved


def test_cuda_defaults_of_the_command_line():
    cpu = bench.parse_args([])
    assert (cpu.rounds, cpu.warmup, cpu.tf32) == (5, 1, 'off')
    gpu = bench.parse_args(['--device', 'cuda'])
    assert (gpu.rounds, gpu.warmup, gpu.tf32) == (50, 10, 'off')
    assert (
        bench.parse_args(['--device', 'cuda', '--rounds', '60']).rounds == 60
    )
    assert bench.parse_args(['--device', 'cuda', '--warmup', '0']).warmup == 0
    for bad in (['--rounds', '0'], ['--warmup', '-1']):
        with pytest.raises(SystemExit):
            bench.parse_args(bad)


def test_gpu_in_the_json_markdown_and_plot(monkeypatch):
    from types import SimpleNamespace

    props = SimpleNamespace(
        name='NVIDIA H100 80GB HBM3', major=9, minor=0, total_memory=85e9
    )
    monkeypatch.setattr(torch.cuda, 'get_device_properties', lambda d: props)
    monkeypatch.setattr(torch.version, 'cuda', '13.0')
    monkeypatch.setattr(torch.backends.cudnn, 'version', lambda: 91300)

    def nvidia_smi(cmd, **kwargs):
        assert cmd[0] == 'nvidia-smi'
        return SimpleNamespace(returncode=0, stdout='580.159.04\n')

    monkeypatch.setattr(subprocess, 'run', nvidia_smi)
    gpu = lib.machine_description('cuda:0')
    assert {k: gpu[k] for k in lib.gpu_description('cuda')} == dict(
        gpu='NVIDIA H100 80GB HBM3',
        gpu_capability='9.0',
        gpu_memory_gib=79.2,
        driver='580.159.04',
        cuda='13.0',
        cudnn='9.13.0',
    )
    assert gpu['cpu'] == cpu_info.describe()  # the host is still named
    assert 'gpu' not in lib.machine_description('cpu')
    row = dict(
        name='sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024',
        params=12079863, gmacs=178.7, miou='78.3 (val)', quoted_fps='-',
        roofline_s=0.007, variants={'fp16': dict(
            median_s=0.004, min_s=0.0039, max_s=0.0045, peak_mb=900.0,
            x_roofline=0.6, max_abs_diff=2e-3, argmax_agreement=0.999)},
    )  # fmt: skip
    result = dict(
        shape=(1024, 2048), device='cuda:0', threads=2, rounds=50,
        matmul_gflops=51000.0, **gpu, skipped={}, torch='2.11.0+cu130',
        rows=[row], **lib.configure_cuda(False), warmup=10,
        timer='CUDA events',
    )  # fmt: skip
    assert json.loads(json.dumps(result))['tf32'] == 'off'
    head = bench.to_markdown(result).splitlines()[0]
    for part in (
        'GPU: NVIDIA H100 80GB HBM3 (compute capability 9.0, 79.2 GiB)',
        'driver 580.159.04, CUDA 13.0, cuDNN 9.13.0, torch 2.11.0+cu130',
        'TF32 off (fp32 convolutions and matmuls), cudnn.benchmark on',
        '10 warm-up calls, then 50 interleaved rounds timed with CUDA '
        'events; fp32 matmul peak 51000 GFLOP/s',
    ):
        assert part in head
    assert lib.latency_label(result).startswith('GPU latency')
    cpu = dict(result, device='cpu')
    assert lib.latency_label(cpu).startswith('CPU latency')
    # cuDNN 8 numbers its versions differently
    monkeypatch.setattr(torch.backends.cudnn, 'version', lambda: 8907)
    assert lib.cudnn_version() == '8.9.7'

    def no_smi(cmd, **kwargs):
        raise FileNotFoundError(cmd[0])

    monkeypatch.setattr(subprocess, 'run', no_smi)
    assert lib.nvidia_driver_version() == 'unknown'


def test_io_binding_runs_onnx_runtime_without_copies(tmp_path):
    """The binding logic of the CUDA runner, on CPU memory: the output
    tensor is bound once and overwritten by every run."""
    from sfseg.deploy import OnnxRuntimeRunner, export_network

    model, _ = build_segmentor(resolve_config(TOY))
    model.eval()
    x = torch.randn(1, 3, 32, 64, generator=torch.Generator().manual_seed(0))
    path = str(tmp_path / 'm.onnx')
    export_network(model, path, (32, 64), dynamic=False)
    runner = OnnxRuntimeRunner(path, 1)
    want = runner(x.numpy())
    run = lib.io_bound_runner(runner.session, x)
    out = run()
    assert out.shape == want.shape and out.dtype == torch.float32
    assert np.abs(out.numpy() - want).max() < 1e-5
    x.mul_(0.5)  # the input is bound too: a new image in place
    again = run()
    assert again.data_ptr() == out.data_ptr()
    assert np.abs(again.numpy() - runner(x.numpy())).max() < 1e-5


def test_aoti_variant_compiles_at_its_first_call(monkeypatch, tmp_path):
    import sfseg.deploy as deploy

    builds = []

    def build(*args, **kwargs):
        builds.append((args[1], kwargs['shape'], kwargs['dynamic']))
        return (lambda feed: feed[:, :2] * 2), 'model.pt2'

    monkeypatch.setattr(deploy, 'build_runtime_network', build)
    x = torch.ones(1, 3, 32, 64)
    run = lib.variant_runner(
        torch.nn.Identity(), bench.VARIANTS['aoti'], x, str(tmp_path)
    )
    assert builds == []  # the first call compiles: first_call_s has it
    assert torch.equal(run(), torch.full((1, 2, 32, 64), 2.0))
    run()
    assert builds == [('aoti', (32, 64), False)]
