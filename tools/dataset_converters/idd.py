"""IDD (India Driving Dataset) labels -> 19 Cityscapes train ids.

    python tools/dataset_converters/idd.py IDD_ROOT OUT_ROOT \\
        [--source auto|png|json] [--nproc 2] [--splits train val] \\
        [--force] [--skip-bad]

Reads IDD's ``id``-level label PNGs or its polygon JSONs (``--source``)
and writes ``_gtFine_labelTrainIds.png`` with the official SFNet mapping;
the layout and the rules: ``sfseg.datasets.convert.idd``. The input tree
is never modified.
"""

from sfseg.datasets.convert import converter_main
from sfseg.datasets.convert.idd import SOURCES, collect_idd_pairs, convert_idd

# the library functions under this tool's own names
collect_pairs, convert = collect_idd_pairs, convert_idd


def add_arguments(parser):
    parser.add_argument(
        '--source',
        choices=sorted(SOURCES),
        default='auto',
        help='label input: id PNGs, polygon JSONs, or PNG else JSON',
    )
    return ('source',)


def main(argv=None):
    return converter_main(
        __doc__.splitlines()[0],
        convert,
        ('train', 'val'),
        argv,
        add_arguments,
    )


if __name__ == '__main__':
    main()
