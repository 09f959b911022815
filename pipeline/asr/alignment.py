"""Which encoder position each text token of a window attends to: Whisper's alignment by
cross-attention and dynamic time warping, in numpy.

An engine runs its decoder once over [*sot_sequence, no_timestamps, *text, eot] with the
window's encoder output and hands over the attention scores of its alignment heads (the
heads whose cross-attention follows the audio). `token_path` makes them a path of (token
index, encoder position) pairs over the text tokens and then the end of text, as
CTranslate2's `Whisper.align` returns it, for `word_times.words_from_path`.

Written here rather than taken from mlx_whisper.timing, which imports numba and scipy
(~130 MB in every worker, see mlx_engine.import_mlx_whisper_parts_only) for a median filter
and a DTW that numpy does well enough on one window (~100 tokens × 750 positions).
"""

from __future__ import annotations

import numpy as np

MEDIAN_FILTER_WIDTH = 7  # Whisper's, and CTranslate2's default

# How the cheapest path reaches a cell; also the order in which ties are broken.
DIAGONAL, ABOVE, LEFT = 0, 1, 2


def median_filter(x: np.ndarray, width: int = MEDIAN_FILTER_WIDTH) -> np.ndarray:
    """The median of each `width` neighbours along the last axis, the ends mirrored (without
    repeating the edge, as Whisper pads). An axis too short to mirror is left as it is, as
    Whisper leaves it."""
    if width < 1 or width % 2 == 0:
        raise ValueError(f"the median filter's width must be odd, not {width}")
    half = width // 2
    if x.shape[-1] <= half:
        return x
    length = x.shape[-1]
    out = np.empty(x.shape, dtype=np.result_type(x.dtype, np.float32))
    # One row of the leading axes (a head) at a time, its `width` shifted copies sorted
    # element by element with minimum and maximum: bubble passes until the middle one is in
    # place. ~8x faster than np.median over sliding windows (11 against 88 ms for 8 heads ×
    # 113 tokens × 750 positions), and the copies are one head's, not all of them.
    for index in np.ndindex(*x.shape[:-2]):
        padded = np.pad(x[index], [(0, 0)] * (x[index].ndim - 1) + [(half, half)],
                        mode="reflect")
        shifted = [padded[..., k:k + length] for k in range(width)]
        for done in range(half + 1):  # each pass carries the largest of the rest to the end
            for k in range(width - 1 - done):
                low = np.minimum(shifted[k], shifted[k + 1])
                shifted[k + 1] = np.maximum(shifted[k], shifted[k + 1])
                shifted[k] = low
        out[index] = shifted[half]
    return out


def dtw_path(cost: np.ndarray) -> list[tuple[int, int]]:
    """The cheapest monotone path through `cost` (rows × columns) from its first cell to its
    last, each step one row down, one column right, or both; the (row, column) pairs of its
    cells in order. Ties: going back from the end, a diagonal step is taken whenever it is as
    cheap as the others, and a step up before a step to the left.

    Row by row: a row's totals satisfy x_j = c_j + min(a_j, x_{j-1}), where a_j is the best
    way in from the row above, so x_j = S_j + min_{k<=j}(a_k - S_{k-1}) with S the running
    sum of the row's costs: a cumulative sum and a running minimum, no loop over columns."""
    rows, cols = cost.shape
    if rows == 0 or cols == 0:
        return []
    c = np.asarray(cost, dtype=np.float64)
    moves = np.empty((rows, cols), dtype=np.int8)
    total = np.cumsum(c[0])  # the first row is reached from the left only
    moves[0] = LEFT
    from_diagonal = np.zeros(cols, dtype=bool)
    above = np.empty(cols)
    for i in range(1, rows):
        # The best way in from the row above: the diagonal when it is as cheap as straight up.
        from_diagonal[1:] = total[:-1] <= total[1:]
        above[0] = total[0]
        above[1:] = np.where(from_diagonal[1:], total[:-1], total[1:])
        sums = np.cumsum(c[i])
        entry = above.copy()
        entry[1:] -= sums[:-1]  # a_k - S_{k-1}
        best = np.minimum.accumulate(entry)
        total = sums + best
        # The cell is entered from above where its own way in is the running minimum (ties
        # included: from above before from the left); otherwise the path came from the left.
        moves[i] = np.where(entry <= best, np.where(from_diagonal, DIAGONAL, ABOVE), LEFT)
    path = []
    i, j = rows - 1, cols - 1
    while True:
        path.append((i, j))
        if i == 0 and j == 0:
            break
        move = moves[i, j] if i > 0 else LEFT
        if move == DIAGONAL and j > 0:
            i, j = i - 1, j - 1
        elif move == LEFT and j > 0:
            j -= 1
        else:
            i -= 1
    path.reverse()
    return path


def token_path(scores: np.ndarray, sot_length: int,
               width: int = MEDIAN_FILTER_WIDTH) -> list[tuple[int, int]]:
    """The alignment path of one window: `scores` are the alignment heads' cross-attention
    scores before their softmax, heads × decoder input × encoder positions, the decoder input
    being [*sot_sequence (sot_length tokens), no_timestamps, *text, eot] and the positions
    only those of real audio (the padding's left out). Returns (token index, position) pairs
    over the text tokens and then the end of text: row k is the input position whose output
    is text token k (the end of text for the last), as Whisper reads it."""
    _heads, length, positions = scores.shape
    if positions == 0 or length < sot_length + 2:
        return []
    weights = scores.astype(np.float32)
    weights -= weights.max(axis=-1, keepdims=True)
    np.exp(weights, out=weights)
    weights /= weights.sum(axis=-1, keepdims=True)
    # Each head standardised over the whole decoder input at each position (the start
    # sequence's rows too, as Whisper and CTranslate2 do: on one 30-s window, given the same
    # encoder output, this path was CTranslate2's `align` cell for cell, 1,589 cells; over
    # the text rows alone, 13 differed), so that a position a head looks at from every token
    # (a loud frame) does not pull the path.
    mean = weights.mean(axis=-2, keepdims=True)
    std = weights.std(axis=-2, keepdims=True)
    # A position no token tells apart (std 0) would be 0/0; it stays neutral at 0 instead.
    weights = (weights - mean) / np.where(std > 0, std, 1.0)
    matrix = median_filter(weights, width).mean(axis=0)
    return dtw_path(-matrix[sot_length:-1])
