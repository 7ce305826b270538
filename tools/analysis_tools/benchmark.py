"""Side-by-side latency and memory benchmark (protocol: docs/benchmark.md).

    python tools/analysis_tools/benchmark.py [CONFIG ...] [--peers] \\
        [--variants eager fast bf16 onnx] [--shape 1024 2048] \\
        [--rounds 5] [--official-root SFSegNets] --out-dir bench/

Every (model, variant) pair is timed in one process, interleaved round
by round after a warm-up, with random weights on a random image; the
fp32 matmul peak of the machine is measured in the same run and gives a
roofline time per model (2 x MACs / peak). Writes ``benchmark.md``,
``benchmark.json`` and a speed-vs-accuracy plot (accuracy quoted from the
metafiles, never measured here).

Variants (``VARIANTS``: name -> ``AccelerationOptions``): ``eager`` (as
built, eval, NCHW fp32, cached flow grids), ``nocache`` (the paper's
modules as built), ``fold`` (BN folded into convs), ``fast``
(folded + channels-last, the widest 3x3 convolutions through NNPACK
where they time faster, kernels timed in the warm-up, the heads' fusion
conv at the coarse levels' own sizes), ``fast-concat`` (fast with the
fusion conv over the upsampled concatenation), ``fast-onednn``
(fast with oneDNN only), ``nnpack`` (folded, NCHW, NNPACK's FFT /
Winograd kernels where they time faster, separable max pooling, the
fusion conv as in fast: the other layout sfseg's layout tuner picks
from), ``bf16``
(folded + channels-last under bf16 autocast), ``onnx`` (the folded
model in ONNX Runtime, fp32), ``int8`` (that model with static QDQ int8
quantisation, calibrated on random images).
``--official-root`` adds the official SFNet models for the sfseg configs
that have one, with the same weights (converted with sfsegnets2sfseg.py)
so their outputs are compared too.
"""

import argparse
import copy
import dataclasses
import glob
import json
import os
import os.path as osp
import statistics
import sys
import tempfile
import time

import numpy as np
import torch
import yaml
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, osp.join(REPO, 'tools', 'model_converters'))
sys.path.insert(0, osp.join(REPO, 'tools', 'deployment'))
sys.path.insert(0, osp.join(REPO, 'tools', 'dataset_converters'))

from get_flops import count_flops  # noqa: E402

from sfseg.acceleration import (  # noqa: E402
    AccelerationOptions,
    accelerate,
    cpu_info,
)
from sfseg.acceleration.memory import (  # noqa: E402
    current_memory_bytes,
    peak_memory_bytes,
    reset_peak_memory,
)
from sfseg.deploy import network_inputs  # noqa: E402
from sfseg.utils import (  # noqa: E402
    load_weights_strictly,
    resolve_config,
)

PEERS = {
    'BiSeNetV1-R18': 'bisenetv1/bisenetv1_r18-d32-in1k-pre_4xb4-160k_'
    'cityscapes-1024x1024.py',
    'STDC1': 'stdc/stdc1_in1k-pre_4xb12-80k_cityscapes-512x1024.py',
    'STDC2': 'stdc/stdc2_in1k-pre_4xb12-80k_cityscapes-512x1024.py',
    'DDRNet-23-slim': 'ddrnet/ddrnet_23-slim_in1k-pre_2xb6-120k_'
    'cityscapes-1024x1024.py',
    'PIDNet-S': 'pidnet/pidnet-s_2xb6-120k_1024x1024-cityscapes.py',
    'Fast-SCNN': 'fastscnn/fast_scnn_8xb4-160k_cityscapes-512x1024.py',
}
# Paper GPU speed (quoted, not measured): Table 3 TITAN-RTX + TensorRT FPS
# at 1024x2048, and the mmseg model-zoo FPS of the peers.
QUOTED_FPS = {
    'sfnet_df1_8xb2-56k_cityscapes-1024x1024': '134.5 (TITAN-RTX, TRT)',
    'sfnet_df2_8xb2-56k_cityscapes-1024x1024': '103.1 (TITAN-RTX, TRT)',
    'sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024': '33.3 (TITAN-RTX, TRT);'
    ' 18.1 (1080Ti)',
    'sfnet_stdc1_8xb2-56k_cityscapes-1024x1024': '97.1 (TITAN-RTX, TRT)',
    'sfnet_stdc2_8xb2-56k_cityscapes-1024x1024': '79.9 (TITAN-RTX, TRT)',
    'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024': '48.9 (TITAN-RTX,'
    ' TRT); 26.5 (1080Ti)',
    'sfnet-lite_stdc1_8xb2-186k_cityscapes-1024x1024': '119.1 (TITAN-RTX,'
    ' TRT)',
    'sfnet-lite_stdc2_8xb2-186k_cityscapes-1024x1024': '92.3 (TITAN-RTX, TRT)',
    'BiSeNetV1-R18': '31.77 (V100, mmseg)',
    'STDC1': '23.06 (V100, mmseg)',
    'STDC2': '23.71 (V100, mmseg)',
    'DDRNet-23-slim': '85.85 (A100, mmseg)',
    'PIDNet-S': '80.82 (A100, mmseg)',
    'Fast-SCNN': '56.45 (V100, mmseg)',
}
# ONNX Runtime fp32 / int8 (static QDQ) and OpenVINO fp32 / int8 (the same
# QDQ file); all run the folded model's export.
ONNX_VARIANTS = ('onnx', 'int8', 'openvino', 'openvino-int8')
OFFICIAL_FAMILY = {
    'sfnet_r18-d32_8xb2-56k_cityscapes-1024x1024': 'sfnet_r18',
    'sfnet-lite_r18-d32_8xb2-186k_cityscapes-1024x1024': 'sfnet_lite_r18',
    'sfnet_stdc1_8xb2-56k_cityscapes-1024x1024': 'sfnet_stdc1',
    'sfnet-lite_stdc1_8xb2-186k_cityscapes-1024x1024': 'sfnet_lite_stdc1',
    'sfnet_df2_8xb2-56k_cityscapes-1024x1024': 'sfnet_df2',
}


def mmseg_config(rel):
    import mmseg

    return osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', rel)


def sfseg_cityscapes_configs():
    return sorted(
        p
        for folder in ('sfnet', 'sfnet_lite')
        for p in glob.glob(osp.join(REPO, 'configs', folder, '*.py'))
        if 'cityscapes' in p
    )


def quoted_miou(config_path):
    """mIoU quoted in the config folder's metafile (string, or '-')."""
    name = osp.splitext(osp.basename(config_path))[0]
    meta = osp.join(osp.dirname(config_path), 'metafile.yaml')
    if not osp.isfile(meta):
        return '-'
    with open(meta) as f:
        models = yaml.safe_load(f).get('Models', [])
    for model in models:
        if model['Name'] != name:
            continue
        results = model.get('Results') or []
        if isinstance(results, dict):  # mmseg metafiles use one dict
            results = [results]
        parts = []
        for r in results:
            miou = (r.get('Metrics') or {}).get('mIoU')
            if miou is not None:
                split = str(r.get('Dataset', '')).split()
                tag = split[-1] if split else '?'
                tag = 'val' if tag == 'Cityscapes' else tag  # mmseg: val
                parts.append(f'{miou} ({tag})')
        return '; '.join(parts) or '-'
    return '-'


def synchronize(device):
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)


def matmul_peak(size=4096, repeats=3, device='cpu'):
    """Best fp32 GFLOP/s of a size^3 matmul."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    torch.mm(a, b)
    synchronize(device)
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


# variant -> (acceleration options, bf16 autocast); docs/benchmark.md
_PLAIN = AccelerationOptions(
    drop_training=False,
    fold_bn=False,
    low_res_fusion=False,
    gather_warp=False,
    grid_cache=False,
    separable_max_pool=False,
)
_FAST = AccelerationOptions(channels_last=True, nnpack=True)
VARIANTS = {
    'nocache': (_PLAIN, False),
    'eager': (dataclasses.replace(_PLAIN, grid_cache=True), False),
    'fold': (AccelerationOptions(low_res_fusion=False), False),
    'nnpack': (AccelerationOptions(nnpack=True), False),
    'fast': (_FAST, False),
    'fast-concat': (dataclasses.replace(_FAST, low_res_fusion=False), False),
    'fast-onednn': (dataclasses.replace(_FAST, nnpack=False), False),
    'bf16': (dataclasses.replace(_FAST, nnpack=False), True),
}


class Runner:
    """One (model, variant): ``run()`` returns the logits as a tensor."""

    def __init__(self, name, variant, fn):
        self.name, self.variant, self.fn = name, variant, fn
        self.times = []

    def __call__(self):
        return self.fn()


def make_runners(name, model, variant, x, tmpdir, threads, calib=()):
    model = revert_sync_batchnorm(model).eval()
    if variant in VARIANTS:
        options, bf16 = VARIANTS[variant]
        fast = accelerate(copy.deepcopy(model), options)
        if options.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)

        def run():
            if not bf16:
                return fast(x, None, mode='tensor')
            with torch.autocast(x.device.type, dtype=torch.bfloat16):
                return fast(x, None, mode='tensor').float()

        return Runner(name, variant, run)
    if variant in ONNX_VARIANTS:
        return onnx_runner(name, model, variant, x, tmpdir, threads, calib)
    raise ValueError(f'unknown variant {variant!r}')


def onnx_runner(name, model, variant, x, tmpdir, threads, calib):
    """ONNX Runtime / OpenVINO runner of the folded model's export (one
    export and one int8 quantisation per model, shared by the variants);
    ``calib``: the normalised arrays int8 is calibrated on."""
    from sfseg.deploy import (
        OnnxRuntimeRunner,
        build_runtime_network,
        export_network,
    )

    work_dir = osp.join(tmpdir, name)
    os.makedirs(work_dir, exist_ok=True)
    feed = x.cpu().numpy()
    if x.device.type == 'cuda':
        import onnxruntime as ort

        if variant != 'onnx':
            raise ValueError(f'variant {variant} runs on the CPU only')
        if 'CUDAExecutionProvider' not in ort.get_available_providers():
            raise RuntimeError(
                'onnxruntime has no CUDA provider; install onnxruntime-gpu'
            )
        fp32 = osp.join(work_dir, 'model.onnx')
        if not osp.exists(fp32):
            export_network(model, fp32, tuple(x.shape[2:]), dynamic=False)
        runner = OnnxRuntimeRunner(
            fp32, threads, ['CUDAExecutionProvider', 'CPUExecutionProvider']
        )
        return Runner(
            name, variant, lambda: torch.from_numpy(runner(feed)).to(x.device)
        )
    runner, _ = build_runtime_network(
        model,
        'openvino' if variant.startswith('openvino') else 'onnxruntime',
        work_dir,
        'int8' if variant.endswith('int8') else 'fp32',
        calib,
        threads,
        shape=tuple(x.shape[2:]),
        dynamic=False,
    )
    return Runner(name, variant, lambda: torch.from_numpy(runner(feed)))


def official_runner(root, family, sfseg_model, x):
    """Official model with random weights, copied into ``sfseg_model``."""
    import sfsegnets2sfseg as converter
    from official_sfsegnets import build_official, official_logits, randomise

    official = randomise(build_official(root, family)).eval()
    state, _ = converter.convert_state_dict(official.state_dict(), family)
    sfseg_model.load_state_dict(state, strict=True)
    official.to(x.device)
    return official, Runner(
        f'official {family}', 'official', lambda: official_logits(official, x)
    )


def build(path):
    cfg = Config.fromfile(path)
    cfg.model.pop('pretrained', None)
    cfg.model.backbone.pop('init_cfg', None)
    torch.manual_seed(0)
    return MODELS.build(cfg.model), cfg


def benchmark_inputs(image, shape, model, calib_count=4):
    """The 1 x 3 x H x W input and the int8 calibration arrays.

    ``image`` None: standard normal noise, calibrated on more noise.
    ``'scene'``: a generated street scene (``toy_driving.draw_scene``),
    calibrated on other scenes. A file: that
    image resized to ``shape``, calibrated on generated scenes. Images are
    normalised by ``model``'s data preprocessor (every benchmarked config
    uses ImageNet's RGB mean / std).
    """
    if image is None:
        gen = torch.Generator().manual_seed(0)
        noise = np.random.default_rng(0)
        calib = [
            noise.standard_normal((1, 3, *shape), dtype=np.float32)
            for _ in range(calib_count)
        ]
        return torch.randn(1, 3, *shape, generator=gen), calib
    from toy_driving import draw_scene

    def normalise(rgb):
        return network_inputs(model, [rgb[..., ::-1]])[0]

    def scene(seed):
        return draw_scene(*shape, np.random.default_rng(seed))[0]

    if image == 'scene':
        rgb = scene(0)
    else:
        import mmcv

        rgb = mmcv.imresize(
            mmcv.imread(image, channel_order='rgb'), shape[::-1]
        )
    calib = [normalise(scene(seed)) for seed in range(1, calib_count + 1)]
    return torch.from_numpy(normalise(rgb)), calib


def skipped_variants(variants, device, force_bf16=False):
    """``{variant: reason}`` for variants this CPU cannot run natively.

    bf16 without AVX-512 BF16 / AMX is emulated and several times slower
    than fp32, so timing it would only mislead.
    """
    skipped = {}
    if (
        'bf16' in variants
        and device.type == 'cpu'
        and not force_bf16
        and not cpu_info.has_native_bf16()
    ):
        skipped['bf16'] = (
            f'skipped: no native bf16 on {cpu_info.cpu_model()} '
            f'({", ".join(cpu_info.isa_extensions()) or "no AVX2"}); '
            '--force-bf16 times the emulated path'
        )
    return skipped


def allocator():
    """The malloc in use, as far as the environment tells."""
    preload = os.environ.get('LD_PRELOAD', '')
    for name in ('jemalloc', 'tcmalloc', 'mimalloc'):
        if name in preload:
            return name
    return 'glibc' + (
        ' (tuned)' if os.environ.get('MALLOC_TRIM_THRESHOLD_') else ''
    )


def benchmark(args):
    register_all_modules(init_default_scope=True)
    torch.set_num_threads(args.threads)
    shape = tuple(args.shape)
    device = torch.device(args.device)
    entries = [
        (osp.splitext(osp.basename(p))[0], resolve_config(p))
        for p in (args.configs or sfseg_cityscapes_configs())
    ]
    x, calib = benchmark_inputs(args.image, shape, build(entries[0][1])[0])
    x = x.to(device)
    if args.peers is not None:
        unknown = set(args.peers) - set(PEERS)
        if unknown:
            raise SystemExit(
                f'error: unknown peers {sorted(unknown)}; known: {list(PEERS)}'
            )
        entries += [
            (n, mmseg_config(rel))
            for n, rel in PEERS.items()
            if not args.peers or n in args.peers
        ]
    skipped = skipped_variants(args.variants, device, args.force_bf16)
    peak_start = matmul_peak(device=device)
    rows, runners = {}, []
    tmp = tempfile.TemporaryDirectory()
    for name, path in entries:
        model, cfg = build(path)
        if args.checkpoint:
            load_weights_strictly(model, args.checkpoint)
        model.eval()
        gflops, params = count_flops(cfg, shape)
        model.to(device)
        rows[name] = dict(
            name=name,
            params=params,
            gmacs=gflops,
            miou=quoted_miou(path),
            quoted_fps=QUOTED_FPS.get(name, '-'),
            variants={},
        )
        if args.official_root and name in OFFICIAL_FAMILY:
            official, runner = official_runner(
                args.official_root, OFFICIAL_FAMILY[name], model, x
            )
            runner.row = name
            runners.append(runner)
        for variant in args.variants:
            if variant in skipped:
                continue
            runner = make_runners(
                name, model, variant, x, tmp.name, args.threads, calib
            )
            runner.row = name
            runners.append(runner)
    # Reference outputs, peak memory and warm-up, one runner at a time.
    with torch.no_grad():
        refs = {}
        for runner in runners:
            if device.type == 'cuda':
                torch.cuda.reset_peak_memory_stats(device)
                base = torch.cuda.memory_allocated(device)
                out = runner().float()
                runner.peak_mb = (
                    torch.cuda.max_memory_allocated(device) - base
                ) / 2**20
            else:
                base = current_memory_bytes() / 2**20
                tracked = reset_peak_memory()
                out = runner().float()
                runner.peak_mb = (
                    peak_memory_bytes() / 2**20 - base if tracked else None
                )
            refs.setdefault(runner.row, out)
            ref = refs[runner.row]
            if out.shape != ref.shape:
                out = torch.nn.functional.interpolate(
                    out, ref.shape[2:], mode='bilinear', align_corners=True
                )
            runner.max_abs_diff = float((out - ref).abs().max())
            runner.agreement = float(
                (out.argmax(1) == ref.argmax(1)).float().mean()
            )
            for _ in range(args.warmup - 1):
                runner()
        for _ in range(args.rounds):
            for runner in runners:
                synchronize(device)
                start = time.perf_counter()
                runner()
                synchronize(device)
                runner.times.append(time.perf_counter() - start)
    peak = max(peak_start, matmul_peak(device=device))
    tmp.cleanup()
    for runner in runners:
        row = rows[runner.row]
        roofline = 2 * row['gmacs'] / peak
        row['roofline_s'] = roofline
        row['variants'][runner.variant] = dict(
            median_s=statistics.median(runner.times),
            min_s=min(runner.times),
            max_s=max(runner.times),
            peak_mb=runner.peak_mb,
            x_roofline=statistics.median(runner.times) / roofline,
            max_abs_diff=runner.max_abs_diff,
            argmax_agreement=runner.agreement,
        )
    return dict(
        shape=shape,
        device=str(device),
        threads=args.threads,
        rounds=args.rounds,
        matmul_gflops=peak,
        malloc_tuned=bool(os.environ.get('MALLOC_TRIM_THRESHOLD_')),
        allocator=allocator(),
        cpu=cpu_info.describe(),
        cpu_model=cpu_info.cpu_model(),
        isa=cpu_info.isa_extensions(),
        native_bf16=cpu_info.has_native_bf16(),
        skipped=skipped,
        torch=torch.__version__,
        rows=list(rows.values()),
    )


def to_markdown(result):
    lines = [
        f'Input 1x3x{result["shape"][0]}x{result["shape"][1]}, '
        f'{result["threads"]} threads, {result["rounds"]} interleaved '
        f'rounds, fp32 matmul peak {result["matmul_gflops"]:.0f} GFLOP/s, '
        f'allocator: {result["allocator"]}, torch {result["torch"]}. '
        f'CPU: {result["cpu"]}. '
        'mIoU and GPU FPS are quoted (paper / official README / mmseg '
        'model zoo), not measured here.',
        '',
        '| model | params | GMACs | roofline s | variant | median s | min s '
        '| max s | x roofline | vs eager | peak MB | max abs diff | argmax '
        'agree | mIoU (quoted) | GPU FPS (quoted) |',
        '|' + '---|' * 15,
    ]
    for row in result['rows']:
        eager = row['variants'].get('eager', {}).get('median_s')
        for variant, v in row['variants'].items():
            speedup = f'{eager / v["median_s"]:.2f}x' if eager else '-'
            peak = f'{v["peak_mb"]:.0f}' if v['peak_mb'] is not None else '-'
            lines.append(
                f'| {row["name"]} | {row["params"]:,} | {row["gmacs"]:.1f} | '
                f'{row["roofline_s"]:.2f} | {variant} | {v["median_s"]:.3f} | '
                f'{v["min_s"]:.3f} | {v["max_s"]:.3f} | '
                f'{v["x_roofline"]:.2f} | {speedup} | {peak} | '
                f'{v["max_abs_diff"]:.1e} | '
                f'{100 * v["argmax_agreement"]:.2f}% | {row["miou"]} | '
                f'{row["quoted_fps"]} |'
            )
    for variant, reason in result.get('skipped', {}).items():
        lines.append(f'| all | | | | {variant} | {reason} |' + ' |' * 9)
    return '\n'.join(lines) + '\n'


def plot(result, path):
    import re

    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for row in result['rows']:
        numbers = re.findall(r'([0-9]+\.[0-9]+)', row['miou'])
        if not numbers:
            continue
        best = min(v['median_s'] for v in row['variants'].values())
        miou = float(numbers[0])
        sfseg = row['name'] not in PEERS
        ax.scatter(best, miou, c='tab:red' if sfseg else 'tab:blue')
        ax.annotate(row['name'].split('_8xb')[0], (best, miou), fontsize=7)
    ax.set_xscale('log')
    ax.set_xlabel(
        f'CPU latency, best variant (s, 1x3x{result["shape"][0]}x'
        f'{result["shape"][1]}, {result["threads"]} threads)'
    )
    ax.set_ylabel('Cityscapes mIoU (quoted; val where given, else test)')
    ax.set_title('speed vs accuracy (red: sfseg, blue: mmseg peers)')
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        'configs', nargs='*', help='default: every sfseg Cityscapes config'
    )
    parser.add_argument(
        '--peers',
        nargs='*',
        metavar='NAME',
        help="add mmseg's real-time models (all, or those named)",
    )
    parser.add_argument(
        '--variants',
        nargs='+',
        default=['eager', 'fast'],
        choices=[*VARIANTS, *ONNX_VARIANTS],
    )
    parser.add_argument('--shape', type=int, nargs=2, default=[1024, 2048])
    parser.add_argument(
        '--image',
        help="input image file or 'scene' (a generated street scene); "
        'default: random noise',
    )
    parser.add_argument(
        '--checkpoint',
        help='weights for every config given (strict); default: random',
    )
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument(
        '--device',
        default='cpu',
        help="'cpu' or 'cuda[:N]' (GPU path untested here)",
    )
    parser.add_argument(
        '--official-root', help='local lxtGH/SFSegNets clone to compare with'
    )
    parser.add_argument(
        '--force-bf16',
        action='store_true',
        help='time bf16 even on a CPU without native bf16 (emulated, slow)',
    )
    parser.add_argument('--out-dir', default='work_dirs/benchmark')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    result = benchmark(args)
    os.makedirs(args.out_dir, exist_ok=True)
    table = to_markdown(result)
    with open(osp.join(args.out_dir, 'benchmark.md'), 'w') as f:
        f.write(table)
    with open(osp.join(args.out_dir, 'benchmark.json'), 'w') as f:
        json.dump(result, f, indent=1)
    plot(result, osp.join(args.out_dir, 'speed_accuracy.png'))
    print(table)


if __name__ == '__main__':
    main()
