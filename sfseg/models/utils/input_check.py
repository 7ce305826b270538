"""Clear errors when a head's declared inputs do not match its features."""


def check_in_channels(head, inputs):
    """Raise if the selected features disagree with ``head.in_channels``.

    Args:
        head: a decode head with ``in_channels`` and ``in_index`` (lists).
        inputs (list[Tensor]): the features the head selected.
    """
    name = type(head).__name__
    expected = list(head.in_channels)
    indices = list(head.in_index)
    if len(inputs) != len(expected):
        raise ValueError(
            f'{name}: expected {len(expected)} input levels '
            f'(in_index={indices}), got {len(inputs)}'
        )
    for pos, (feat, want, index) in enumerate(zip(inputs, expected, indices)):
        if feat.shape[1] != want:
            raise ValueError(
                f'{name}: in_channels[{pos}]={want} but the feature at '
                f'in_index {index} has {feat.shape[1]} channels '
                f'(in_channels={expected}, in_index={indices})'
            )
