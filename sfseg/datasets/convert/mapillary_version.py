"""Tell Mapillary Vistas v1.2 labels from v2.0 ones before converting.

The official SFNet table maps the 66 v1.x ids (0-65). v2.0 labels use 124
ids in another order (v2.0 "Building" is 27, which is "Sky" in v1.2), so a
v2.0 label run through the v1.2 table is silently wrong. Two signs give it
away: ids >= 66, and the palette the released PNGs carry (each file's
palette is its version's class colours). Both palettes come from mmseg's
``MapillaryDataset_v1`` / ``MapillaryDataset_v2``.
"""

import functools

import numpy as np

V1_NUM_IDS = 66
# A palette "is" a version's when this share of its entries match.
_MATCH = 0.9


@functools.lru_cache(maxsize=None)
def _palettes():
    from mmseg.datasets import MapillaryDataset_v1, MapillaryDataset_v2

    return tuple(
        (
            np.asarray(ds.METAINFO['palette'], dtype=np.int64),
            ds.METAINFO['classes'],
        )
        for ds in (MapillaryDataset_v1, MapillaryDataset_v2)
    )


def palette_version(palette):
    """``'v1.2'``, ``'v2.0'`` or ``None`` (no palette / neither) for a PIL
    palette (flat RGB list)."""
    if not palette:
        return None
    colours = np.asarray(palette, dtype=np.int64).reshape(-1, 3)
    for name, (reference, _) in zip(('v1.2', 'v2.0'), _palettes()):
        if len(colours) < len(reference):
            continue
        same = (colours[: len(reference)] == reference).all(1).mean()
        if same >= _MATCH:
            return name
    return None


def check_mapillary_v1_label(counts, palette, unknown, allow_unknown=False):
    """Why a label cannot be a v1.2 label, or ``None``.

    Args:
        counts (np.ndarray): pixel count per id (256 entries).
        palette (list | None): the PNG's palette.
        unknown (dict): ids >= 66 present -> pixel counts.
        allow_unknown (bool): the user asked to write ids >= 66 as 255
            (bind it with ``functools.partial``).
    """
    if palette_version(palette) == 'v2.0':
        (_, v1_names), (_, v2_names) = _palettes()
        present = [int(i) for i in np.nonzero(counts)[0] if i < V1_NUM_IDS]
        example = ''
        for i in present:
            if i < len(v2_names) and v1_names[i] != v2_names[i]:
                example = (
                    f' (id {i} is {v2_names[i]!r} in v2.0 but '
                    f'{v1_names[i]!r} in v1.2)'
                )
                break
        return (
            'this is a Mapillary Vistas v2.0 label (its palette is the v2.0 '
            f'one); the v1.2 id table would mislabel it{example}. Convert '
            'the v1.2 labels (<split>/v1.2/labels) instead'
        )
    if unknown and not allow_unknown:
        ids = ', '.join(str(i) for i in sorted(unknown)[:8])
        return (
            f'ids {ids} are not Mapillary v1.2 ids (0-65): a v2.0 label '
            '(124 ids) or another dataset? Convert v1.2 labels, or pass '
            '--unknown-ids-to-ignore to write these ids as 255'
        )
    return None
