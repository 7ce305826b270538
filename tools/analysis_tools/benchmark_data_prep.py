"""Time data preparation for training: centroids, dataset start, pipeline.

    python tools/analysis_tools/benchmark_data_prep.py \\
        [--labels 200] [--draws 15] [--official-root ~/src/SFSegNets]

On generated full-size (1024 x 2048) Cityscapes-layout images and labels
(blocky class maps, 15-19 classes per label, some ignore):

1. class-centroid cache build (``ClassUniformDataset``'s computation) with
   1 process and with all of them: seconds per 1000 labels and the
   extrapolation to Cityscapes (2975) and UDS (35k training labels);
2. dataset start (``ClassUniformDataset`` of the Cityscapes config):
   cold (empty cache, all processes) and warm (cache read);
3. the per-sample training pipeline of the Cityscapes config, one thread,
   sfseg and (with ``--official-root``) the official transforms
   interleaved on the same image, median ms per sample and per transform,
   and each sfseg transform's max abs difference from the official one
   under the same random draws.
"""

import argparse
import os
import os.path as osp
import shutil
import tempfile

from sfseg.official_checks.data_prep import (
    EXTRAPOLATE,
    label_paths,
    make_data,
    ms,
    time_centroids,
    time_dataset_start,
    time_pipeline,
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--labels', type=int, default=200)
    parser.add_argument(
        '--size', type=int, nargs=2, default=[1024, 2048], help='H W'
    )
    parser.add_argument('--draws', type=int, default=15)
    parser.add_argument('--nproc', type=int, default=os.cpu_count())
    parser.add_argument(
        '--official-root', help='a clone of lxtGH/SFSegNets (pipeline)'
    )
    args = parser.parse_args(argv)
    from mmengine.registry import init_default_scope

    import sfseg  # noqa: F401  (registers the transforms)
    from sfseg.utils.cpu_info import describe

    init_default_scope('mmseg')
    print(f'CPU: {describe()}, {os.cpu_count()} cores')
    work = tempfile.mkdtemp(prefix='sfseg_data_prep_')
    try:
        h, w = args.size
        print(f'generating {args.labels} images + labels of {h}x{w} ...')
        make_data(work, args.labels, (h, w))
        paths = label_paths(work)
        one = time_centroids(paths, 1)
        many = time_centroids(paths, args.nproc)
        per_k = {n: t / len(paths) * 1000 for n, t in ((1, one), (0, many))}
        print('\n1. centroid cache build (s per 1000 labels)')
        print(f'   1 process: {per_k[1]:.1f}   {args.nproc} processes: '
              f'{per_k[0]:.1f}   ratio {many / one:.2f}')  # fmt: skip
        for name, count in EXTRAPOLATE:
            print(
                f'   {name} ({count} labels): {per_k[1] * count / 60e3:.1f} '
                f'min on 1 process, {per_k[0] * count / 60e3:.1f} min on '
                f'{args.nproc}'
            )
        cold, warm = time_dataset_start(work, osp.join(work, 'cache'))
        print('\n2. dataset start (ClassUniformDataset, Cityscapes config)')
        print(f'   cold {cold:.2f} s ({cold / len(paths) * 1000:.1f} s per '
              f'1000 labels), warm {warm:.3f} s')  # fmt: skip
        totals, per, diffs = time_pipeline(
            work, args.official_root, args.draws
        )
        print('\n3. training pipeline, one thread, ms per sample (median)')
        line = f'   sfseg {ms(totals["sfseg"]):.1f}'
        if totals['official']:
            ratio = ms(totals['sfseg']) / ms(totals['official'])
            line += (
                f'   official {ms(totals["official"]):.1f}   sfseg / '
                f'official {ratio:.2f}'
            )
        print(line)
        for side in ('sfseg', 'official'):
            for name, values in per[side].items():
                print(f'   {side:8s} {name:22s} {ms(values):7.1f}')
        if diffs:
            print('   max abs difference from the official, same draws:')
            for key in diffs[0]:
                values = [d[key] for d in diffs[1:] or diffs]
                print(f'   {key:30s} {max(values)}')
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
