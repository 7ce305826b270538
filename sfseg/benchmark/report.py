"""The benchmark's report: the latency label and the speed-vs-accuracy
plot."""

import re

from .models import PEERS


def latency_label(result):
    """The plot's x label: GPU or CPU latency of ``result``'s input."""
    shape = f'1x3x{result["shape"][0]}x{result["shape"][1]}'
    if str(result['device']).startswith('cuda'):
        return f'GPU latency, best variant (s, {shape}, {result["gpu"]})'
    return (
        f'CPU latency, best variant (s, {shape}, {result["threads"]} threads)'
    )


def plot_speed_accuracy(result, path):
    """Best latency of every row against its quoted mIoU, to ``path``
    (red: sfseg, blue: the :data:`PEERS`)."""
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
    ax.set_xlabel(latency_label(result))
    ax.set_ylabel('Cityscapes mIoU (quoted; val where given, else test)')
    ax.set_title('speed vs accuracy (red: sfseg, blue: mmseg peers)')
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def header(result):
    """The sentence above the table: input, machine, protocol."""
    r, shape = result, f'1x3x{result["shape"][0]}x{result["shape"][1]}'
    if not r['device'].startswith('cuda'):
        return (
            f'Input {shape}, {r["threads"]} threads, {r["rounds"]} '
            f'interleaved rounds, fp32 matmul peak '
            f'{r["matmul_gflops"]:.0f} GFLOP/s, allocator: '
            f'{r["allocator"]}, torch {r["torch"]}. CPU: {r["cpu"]}. '
        )
    return (
        f'Input {shape} on {r["device"]}. GPU: {r["gpu"]} (compute '
        f'capability {r["gpu_capability"]}, {r["gpu_memory_gib"]} GiB), '
        f'driver {r["driver"]}, CUDA {r["cuda"]}, cuDNN {r["cudnn"]}, '
        f'torch {r["torch"]}. TF32 {r["tf32"]} (fp32 convolutions and '
        f'matmuls), cudnn.benchmark on; {r["warmup"]} warm-up calls, then '
        f'{r["rounds"]} interleaved rounds timed with {r["timer"]}; fp32 '
        f'matmul peak {r["matmul_gflops"]:.0f} GFLOP/s. CPU: {r["cpu"]}. '
    )


def to_markdown(result):
    """The result as a markdown table under :func:`header`."""
    lines = [
        header(result) + 'mIoU and GPU FPS are quoted (paper / official '
        'README / mmseg model zoo), not measured here.',
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
