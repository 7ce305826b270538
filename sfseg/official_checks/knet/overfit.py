"""Overfit a K-Net panoptic config on the toy set and record PQ.

The library half of ``tools/analysis_tools/knet_overfit.py``:
:func:`run_overfit` writes a toy set (:mod:`sfseg.datasets.toy.panoptic`),
trains the shrunk model on it with mmdet's Runner, evaluates PQ on the same
images every ``eval_interval`` iterations (:func:`make_pq_recorder`) and
returns the curve; :func:`plot_curve` draws it. A model whose matching, losses
and thing/stuff merge work together drives PQ towards 100.
"""

import os.path as osp
import time

from sfseg.datasets.toy.panoptic import write_toy_panoptic

from .toy_runs import toy_config

METRIC = 'coco_panoptic'


def make_pq_recorder():
    """A Runner hook that records (iteration, PQ, SQ, RQ) after each val."""
    from mmengine.hooks import Hook

    class PQRecorder(Hook):
        priority = 'LOWEST'

        def __init__(self):
            self.curve = []

        def after_val_epoch(self, runner, metrics=None):
            metrics = metrics or {}
            self.curve.append(
                (
                    runner.iter,
                    *(metrics[f'{METRIC}/{k}'] for k in ('PQ', 'SQ', 'RQ')),
                )
            )

    return PQRecorder()


def run_overfit(
    config,
    work_dir,
    iters=300,
    eval_interval=50,
    num_images=2,
    size=(64, 96),
    lr=1e-3,
    seed=0,
):
    """Train on the toy set and return the PQ curve.

    Args:
        config (str | Config): K-Net panoptic config (see
            :func:`.toy_runs.toy_config`); shrunk for CPU.
        work_dir (str): Runner work dir; the toy set goes to
            ``<work_dir>/data``. No checkpoint is saved.
        iters (int): Training iterations.
        eval_interval (int): Iterations between PQ evaluations.
        num_images (int): Images of the toy set (train = val).
        size (tuple[int, int]): Image size (H, W).
        lr (float): AdamW learning rate.
        seed (int): Seed of the toy set and the Runner.

    Returns:
        tuple: ``curve`` (list of (iteration, PQ, SQ, RQ)) and the wall
        time in seconds of training plus evaluation.
    """
    from mmdet.utils import register_all_modules
    from mmengine.runner import Runner

    register_all_modules(init_default_scope=False)
    data = write_toy_panoptic(
        osp.join(work_dir, 'data'), num_images, tuple(size), seed
    )
    cfg = toy_config(
        config,
        data,
        work_dir,
        iters=iters,
        eval_interval=eval_interval,
        lr=lr,
        batch_size=min(2, num_images),
        seed=seed,
    )
    cfg.default_hooks.checkpoint.interval = -1
    cfg.default_hooks.checkpoint.save_last = False
    runner = Runner.from_cfg(cfg)
    recorder = make_pq_recorder()
    runner.register_hook(recorder)
    start = time.perf_counter()
    runner.train()
    return recorder.curve, time.perf_counter() - start


def plot_curve(curve, path):
    """Draw a :func:`run_overfit` curve (PQ, SQ, RQ in %) to a PNG."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    its = [c[0] for c in curve]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    # PQ = SQ once RQ reaches 100: draw SQ and RQ dashed so PQ stays seen.
    styles = (('PQ', '-', 2.5), ('SQ', '--', 1.2), ('RQ', ':', 1.2))
    for j, (name, style, width) in enumerate(styles, start=1):
        ax.plot(
            its,
            [c[j] for c in curve],
            style,
            marker='o',
            linewidth=width,
            label=name,
        )
    ax.axhline(80, color='gray', linestyle='--', linewidth=0.8)
    ax.set_xlabel('iteration')
    ax.set_ylabel('%')
    ax.set_ylim(0, 100)
    ax.set_title('K-Net overfit on the toy panoptic set')
    ax.legend(loc='lower right')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
