"""Mapillary Vistas v1.2 (or v1.1) labels -> 19 Cityscapes train ids.

    python tools/dataset_converters/mapillary.py MAPILLARY_ROOT OUT_ROOT \\
        [--nproc 2] [--splits training validation] [--force] [--skip-bad]
        [--unknown-ids-to-ignore]

Reads ``ROOT/<split>/images/<name>.jpg`` and ``ROOT/<split>/v1.2/labels/
<name>.png`` (v1.1: ``ROOT/<split>/labels``), writes ``OUT_ROOT/<split>/
labels/<name>.png`` with the official SFNet mapping (66 ids -> 19 classes,
the rest 255). The input tree is never modified. v2.0 labels (recognised
by their palette or by ids >= 66) are refused: the v1.2 table would give
them wrong classes. ``--unknown-ids-to-ignore`` writes ids >= 66 of labels
without a v2.0 palette as 255 instead (reported with pixel counts).
"""

from sfseg.datasets.convert import converter_main
from sfseg.datasets.convert.mapillary import (
    collect_mapillary_pairs,
    convert_mapillary,
)

# the library functions under this tool's own names
collect_pairs, convert = collect_mapillary_pairs, convert_mapillary


def add_arguments(parser):
    parser.add_argument(
        '--unknown-ids-to-ignore',
        action='store_true',
        help='write ids >= 66 as 255 instead of refusing the label '
        '(labels with a v2.0 palette are refused regardless)',
    )
    return ('unknown_ids_to_ignore',)


def main(argv=None):
    return converter_main(
        __doc__.splitlines()[0],
        convert,
        ('training', 'validation'),
        argv,
        add_arguments,
    )


if __name__ == '__main__':
    main()
