"""The detector's output format: a centre heatmap and box regression at stride 4.

Shared by training (to make targets) and inference (to decode them), so both agree on what a
cell's numbers mean: for the cell (i, j) holding a plate centre, `offset` is the centre's
position inside the cell and `log_size` the plate's width and height in cells, logged.
"""

from __future__ import annotations

import cv2
import numpy as np

STRIDE = 4


def make_targets(
    boxes: list[tuple[float, float, float, float]], out_h: int, out_w: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(heatmap H×W, regression H×W×4 [dx, dy, log w, log h], mask H×W) for boxes in input px."""
    heat = np.zeros((out_h, out_w), dtype=np.float32)
    reg = np.zeros((out_h, out_w, 4), dtype=np.float32)
    mask = np.zeros((out_h, out_w), dtype=np.float32)
    ys, xs = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    for x, y, w, h in boxes:
        cx, cy = (x + w / 2) / STRIDE, (y + h / 2) / STRIDE
        wc, hc = max(w / STRIDE, 0.5), max(h / STRIDE, 0.5)
        sx, sy = max(wc / 6, 0.6), max(hc / 6, 0.6)
        gauss = np.exp(-((xs + 0.5 - cx) ** 2) / (2 * sx**2) - ((ys + 0.5 - cy) ** 2) / (2 * sy**2))
        np.maximum(heat, gauss, out=heat)
        ci, cj = int(cy), int(cx)
        # The centre cell and its four neighbours regress the box: a peak one cell off still
        # yields the right box.
        for di, dj in ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)):
            i, j = ci + di, cj + dj
            if 0 <= i < out_h and 0 <= j < out_w:
                reg[i, j] = (cx - j, cy - i, np.log(wc), np.log(hc))
                mask[i, j] = 1.0 if (di, dj) == (0, 0) else 0.5
        if 0 <= ci < out_h and 0 <= cj < out_w:
            heat[ci, cj] = 1.0
    return heat, reg, mask


def decode(
    heat_logits: np.ndarray, reg: np.ndarray, threshold: float, max_plates: int = 20
) -> list[tuple[float, float, float, float, float]]:
    """Peaks of the heatmap above `threshold` as (x, y, w, h, score) in input pixels."""
    logit_threshold = float(np.log(threshold / (1.0 - threshold)))
    peaks = heat_logits == cv2.dilate(heat_logits, np.ones((3, 3), np.uint8))
    candidates = np.argwhere(peaks & (heat_logits > logit_threshold))
    scored = sorted(((float(heat_logits[i, j]), i, j) for i, j in candidates), reverse=True)[
        :max_plates
    ]
    found = []
    for logit, i, j in scored:
        dx, dy, lw, lh = reg[i, j]
        w, h = float(np.exp(lw)) * STRIDE, float(np.exp(lh)) * STRIDE
        cx, cy = (j + dx) * STRIDE, (i + dy) * STRIDE
        score = 1.0 / (1.0 + np.exp(-logit))
        found.append((cx - w / 2, cy - h / 2, w, h, float(score)))
    return found
