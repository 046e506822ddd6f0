"""A tiny PNG chart in pure Python (zlib + struct): the last 48 hours' negative share as
bars against the baseline share as a dashed line.

Email clients block remote images and strip SVG, so the chart is an inline PNG attachment
referenced by Content-ID; drawing it with a plotting library would add a heavy dependency
for 48 bars.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any, Sequence

WIDTH, HEIGHT = 480, 160
_PAD_L, _PAD_R, _PAD_T, _PAD_B = 8, 8, 8, 12
_BG, _AXIS, _BAR, _SPIKE, _BASE, _EMPTY = (
    (255, 255, 255), (200, 200, 200), (120, 144, 180), (200, 40, 40), (60, 60, 60), (235, 235, 235))


def png(width: int, height: int, pixels: bytearray) -> bytes:
    """Encode an RGB buffer (``width * height * 3`` bytes) as a PNG file."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    stride = width * 3
    raw = b"".join(b"\x00" + bytes(pixels[y * stride:(y + 1) * stride]) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(_BG * (width * height))

    def rect(self, x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int]) -> None:
        x0, x1 = max(0, min(x0, x1)), min(self.width, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(self.height, max(y0, y1))
        row = bytes(colour) * (x1 - x0)
        for y in range(y0, y1):
            start = (y * self.width + x0) * 3
            self.pixels[start:start + len(row)] = row


def share_chart(series: Sequence[dict[str, Any]], baseline: float, *, width: int = WIDTH,
                height: int = HEIGHT) -> bytes:
    """Bars of hourly negative share (red where above twice the baseline, grey-blue
    otherwise, a faint stub for hours without mentions), the baseline as a dashed line."""
    canvas = _Canvas(width, height)
    left, right, top, bottom = _PAD_L, width - _PAD_R, _PAD_T, height - _PAD_B
    shares = [p["negative"] / p["n"] if p.get("n") else None for p in series]
    peak = max([s for s in shares if s is not None] + [baseline * 1.5, 0.1])
    scale = min(1.0, peak * 1.1)

    def y_of(share: float) -> int:
        return bottom - int(round((bottom - top) * min(share, scale) / scale))

    canvas.rect(left, bottom, right, bottom + 1, _AXIS)
    count = max(1, len(series))
    step = (right - left) / count
    for i, share in enumerate(shares):
        x0 = left + int(i * step) + 1
        x1 = left + int((i + 1) * step) - 1
        if share is None:
            canvas.rect(x0, bottom - 2, x1, bottom, _EMPTY)
            continue
        colour = _SPIKE if baseline > 0 and share >= 2 * baseline else _BAR
        canvas.rect(x0, y_of(share), x1, bottom, colour)
    y = y_of(baseline)
    for x in range(left, right, 8):
        canvas.rect(x, y - 1, min(x + 5, right), y + 1, _BASE)
    for hours_back in (24, 12, 6):  # tick marks counted back from now
        if hours_back < count:
            x = left + int((count - hours_back) * step)
            canvas.rect(x, bottom + 1, x + 1, bottom + 5, _AXIS)
    return png(width, height, canvas.pixels)
