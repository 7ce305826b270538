"""Render every FAM / GD-FAM semantic-flow field of a model for one image.

    python tools/analysis_tools/visualize_flow.py IMG CONFIG [CHECKPOINT] \\
        --out-file flows.png

One figure: the image and the prediction overlay, then for every flow the
optical-flow colour wheel (hue = direction, saturation = magnitude; mmcv's
``flow2rgb``) and an arrow plot over the image. GD-FAM predicts two flows
(one warps the high-level feature, one the low-level feature). Flows are
shown in pixels of the grid they were predicted on (the official flow
units are halved pixels: a value of 1 moves a sample by about half an
output pixel).
"""

import argparse
import os
import os.path as osp
import textwrap

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import mmcv  # noqa: E402
import numpy as np  # noqa: E402
from mmcv.visualization import flow2rgb  # noqa: E402
from mmseg.apis import inference_model  # noqa: E402
from mmseg.datasets import CityscapesDataset  # noqa: E402

from sfseg.apis import init_model  # noqa: E402
from sfseg.models.layers import FAM, GDFAM  # noqa: E402
from sfseg.utils import exit_on_user_error  # noqa: E402


def capture_flows(model):
    """Hook every flow conv; returns (records, hook handles).

    Each record is ``(name, kind, flow)`` with ``flow`` N x 2 x H x W in
    grid pixels, filled in when the model runs.
    """
    records, handles = [], []
    for name, module in model.named_modules():
        if not isinstance(module, FAM):
            continue
        kind = 'GD-FAM' if isinstance(module, GDFAM) else 'FAM'

        def hook(_, __, flow, name=name, kind=kind):
            flow = flow.detach().float().cpu()
            h, w = flow.shape[-2:]
            # official units -> grid pixels (see flow_warp)
            scale = np.array([(w - 1) / (2 * w), (h - 1) / (2 * h)])
            for part in range(flow.shape[1] // 2):
                pair = flow[0, 2 * part : 2 * part + 2].numpy()
                pair = pair * scale[:, None, None]
                label = kind
                if kind == 'GD-FAM':
                    label += ' (high)' if part == 0 else ' (low)'
                records.append((name, label, pair))

        handles.append(module.flow_make.register_forward_hook(hook))
    return records, handles


def overlay(img_rgb, labels, palette, opacity=0.5):
    colours = np.zeros_like(img_rgb)
    for cls, colour in enumerate(palette):
        colours[labels == cls] = colour
    mixed = img_rgb * (1 - opacity) + colours * opacity
    return mixed.astype(np.uint8)


def panel_title(text, width=48):
    """Wrap a long title onto lines that fit above its panel."""
    return '\n'.join(textwrap.wrap(text, width))


def make_figure(img_rgb, seg_overlay, records, step=None):
    """The figure of :func:`render`; every title stays inside it."""
    rows = 1 + len(records)
    fig, axes = plt.subplots(rows, 2, figsize=(10, 2.8 * rows), squeeze=False)
    axes[0, 0].imshow(img_rgb)
    axes[0, 0].set_title('image')
    axes[0, 1].imshow(seg_overlay)
    axes[0, 1].set_title('prediction')
    for row, (name, kind, flow) in enumerate(records, start=1):
        h, w = flow.shape[1:]
        mag = np.sqrt((flow**2).sum(0))
        wheel = flow2rgb(flow.transpose(1, 2, 0), unknown_thr=1e6)
        axes[row, 0].imshow(wheel)
        axes[row, 0].set_title(
            panel_title(
                f'{name} {kind} {h}x{w}, |flow| max {mag.max():.2f} px'
            ),
            fontsize=9,
        )
        background = mmcv.imresize(img_rgb, (w, h))
        stride = step or max(1, min(h, w) // 16)
        ys, xs = np.mgrid[0:h:stride, 0:w:stride]
        axes[row, 1].imshow(background)
        axes[row, 1].quiver(
            xs,
            ys,
            flow[0][ys, xs],
            flow[1][ys, xs],
            color='yellow',
            angles='xy',
            scale_units='xy',
            scale=max(mag.max() / stride, 1e-6),
        )
        axes[row, 1].set_title(
            f'{kind} arrows (every {stride} px)', fontsize=9
        )
    for ax in axes.flat:
        ax.axis('off')
    fig.tight_layout()
    return fig


def render(img_rgb, seg_overlay, records, out_file, step=None):
    fig = make_figure(img_rgb, seg_overlay, records, step)
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def visualize(
    img, config, checkpoint=None, out_file='flows.png', device='cpu', step=None
):
    """Write the figure; return the number of flow fields drawn."""
    if not osp.isfile(img):
        raise FileNotFoundError(f'image not found: {img}')
    model = init_model(config, checkpoint, device=device)
    records, handles = capture_flows(model)
    if not handles:
        raise ValueError(f'{config} has no FAM / GD-FAM module to visualise')
    try:
        result = inference_model(model, img)
    finally:
        for handle in handles:
            handle.remove()
    img_rgb = mmcv.imread(img, channel_order='rgb')
    labels = result.pred_sem_seg.data[0].cpu().numpy()
    meta = getattr(model, 'dataset_meta', None) or {}
    palette = meta.get('palette') or CityscapesDataset.METAINFO['palette']
    render(img_rgb, overlay(img_rgb, labels, palette), records, out_file, step)
    return len(records)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('img')
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?')
    parser.add_argument('--out-file', default='flows.png')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--step', type=int, help='arrow spacing in pixels')
    args = parser.parse_args(argv)
    count = visualize(
        args.img,
        args.config,
        args.checkpoint,
        args.out_file,
        args.device,
        args.step,
    )
    print(f'{count} flow fields drawn to {args.out_file}')


if __name__ == '__main__':
    with exit_on_user_error():
        main()
