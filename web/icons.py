#!/usr/bin/env python3
"""Draws kvpt's app icons (a yellow star on a dark red rounded square) as PNGs with the
standard library only: web/static/icons/kvpt-{192,512}.png. Run again to redraw them."""
import math, struct, zlib, pathlib

def star_contains(x, y, cx, cy, r_out, r_in):
    pts = []
    for i in range(10):
        r = r_out if i % 2 == 0 else r_in
        a = -math.pi / 2 + i * math.pi / 5
        pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    inside = False
    j = len(pts) - 1
    for i in range(len(pts)):
        xi, yi = pts[i]; xj, yj = pts[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside

def icon(size):
    green, yellow = (122, 31, 31, 255), (250, 204, 21, 255)
    radius = size * 0.18
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            # rounded corners
            dx = max(radius - x, 0, x - (size - 1 - radius))
            dy = max(radius - y, 0, y - (size - 1 - radius))
            if dx * dx + dy * dy > radius * radius:
                row += bytes((0, 0, 0, 0)); continue
            c = yellow if star_contains(x + .5, y + .5, size / 2, size * .53, size * .36, size * .145) else green
            row += bytes(c)
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")

out = pathlib.Path(__file__).parent / "static" / "icons"
out.mkdir(parents=True, exist_ok=True)
for s in (192, 512):
    (out / f"kvpt-{s}.png").write_bytes(icon(s))
