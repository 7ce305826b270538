"""Rasterise Cityscapes-format polygon annotations (also used by IDD).

A ``*_polygons.json`` file holds ``imgHeight``, ``imgWidth`` and a list of
``objects`` (``label`` name, ``polygon`` of ``[x, y]`` points, optional
``deleted`` flag). As in the datasets' own ``json2labelImg`` tools, the map
starts as the background id, objects are drawn in file order (later ones
on top, outline included), deleted objects are skipped and an unknown
``<name>group`` falls back to ``<name>``.
"""

import json
from collections import Counter

import numpy as np
from PIL import Image, ImageDraw

IGNORE = 255


def rasterize_polygons(json_path, name_to_id, background_id):
    """Draw one polygon JSON into an id map.

    Args:
        json_path (str): the ``*_polygons.json`` file.
        name_to_id (dict): label name -> id (0-254).
        background_id (int): id of pixels no polygon covers.

    Returns:
        tuple: ``(ids, unknown)``: a ``(imgHeight, imgWidth)`` uint8 array
        and a ``Counter`` of label names not in ``name_to_id`` (drawn as
        255).

    Raises:
        ValueError: the file is not a polygon annotation (message names
            the missing key).
    """
    with open(json_path) as f:
        ann = json.load(f)
    for key in ('imgHeight', 'imgWidth', 'objects'):
        if key not in ann:
            raise ValueError(f'no "{key}" key (not a polygon annotation)')
    canvas = Image.new(
        'L', (int(ann['imgWidth']), int(ann['imgHeight'])), background_id
    )
    draw = ImageDraw.Draw(canvas)
    unknown = Counter()
    for obj in ann['objects']:
        if int(obj.get('deleted', 0)):
            continue
        name = obj['label']
        if name not in name_to_id and name.endswith('group'):
            name = name[: -len('group')]
        if name in name_to_id:
            value = name_to_id[name]
        else:
            unknown[obj['label']] += 1
            value = IGNORE
        points = [(float(x), float(y)) for x, y in obj['polygon']]
        if len(points) >= 2:
            draw.polygon(points, fill=value, outline=value)
    return np.asarray(canvas, dtype=np.uint8), unknown
