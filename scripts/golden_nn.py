#!/usr/bin/env python3
"""Golden values for the neural-network core (src/nn/network.ts), from an independent float64 numpy implementation.

Writes test/nn/golden.json, read by test/nn/golden.test.ts. Run from the repository root:

    python3 scripts/golden_nn.py

The implementation below is the course's nnCostFunction written the course's way (vectorized over the batch,
bias column of ones prepended, one-hot Y), generalized to any number of hidden layers and to a softmax output:

    a(1) = X;  a(l+1) = g([1 a(l)] Θ(l)ᵀ)                         (sigmoid hidden units)
    h = g(z(L)) for loss "sigmoid", softmax(z(L)) for loss "softmax"
    J = (1/m) Σ [−Y log h − (1−Y) log(1−h)]                       (loss "sigmoid")
    J = −(1/m) Σ log softmax(z(L))[label]                        (loss "softmax", row max subtracted)
    J += λ/(2m) Σ_l Σ Θ(l)[:, 1:]²
    δ(L) = h − Y;  δ(l) = (δ(l+1) Θ(l))[:, 1:] ⊙ a(l)(1 − a(l));  Δ(l) = δ(l+1)ᵀ [1 a(l)]
    D(l) = Δ(l)/m + (λ/m) Θ(l), bias column not regularized

Θ(l) has shape s(l+1) × (s(l)+1); parameters are unrolled column-major per matrix and concatenated:
[Θ(1)(:); Θ(2)(:); …]. Labels are 0..K−1.

For the sigmoid loss the stored cost uses log h = −log(1 + e^−z) and log(1−h) = −log(1 + e^z) (np.logaddexp), which
is the course's formula evaluated without the rounding of 1 − h: with saturated units (h within 1e-8 of 0 or 1)
the direct formula loses up to ~1e-16/(1−h) absolute per term, far more than the 1e-12 the golden test asks for.
The direct formula is computed as well and must agree within its own rounding bound.

Before anything is written, every case is checked three ways:
  1. the course's numerical gradient (central differences, e = 1e-4): relative difference < 1e-9;
  2. an arbitrary-precision (mpmath, 40 digits) evaluation of the same cost and backpropagation from the exact
     float64 inputs: numpy agrees to 1e-13 relative (cost) and 1e-13 of ‖D‖∞ (gradient);
  3. for the course's debug network, the published J (2.100951 / 2.146360) and gradient entries.
"""
from __future__ import annotations

import json
import math
import os
import sys

import mpmath
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "nn", "golden.json")
EPS = np.finfo(np.float64).eps


# ---------------------------------------------------------------------------------------------------------------
# numpy float64 implementation


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def roll(params: np.ndarray, layers: list[int]) -> list[np.ndarray]:
    """Flat column-major vector -> [Θ(1), Θ(2), …], Θ(l) of shape s(l+1) × (s(l)+1)."""
    thetas, off = [], 0
    for l in range(len(layers) - 1):
        shape = (layers[l + 1], layers[l] + 1)
        n = shape[0] * shape[1]
        thetas.append(params[off:off + n].reshape(shape, order="F"))
        off += n
    assert off == params.size, (off, params.size)
    return thetas


def unroll(thetas: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([t.flatten(order="F") for t in thetas])


def with_bias(a: np.ndarray) -> np.ndarray:
    return np.hstack([np.ones((a.shape[0], 1)), a])


def one_hot(y: np.ndarray, K: int) -> np.ndarray:
    Y = np.zeros((y.size, K))
    Y[np.arange(y.size), y] = 1.0
    return Y


def nn_cost_function(layers, loss, params, X, y, lam, want_grad=True):
    """Returns (J, grad, info) where info has the course's direct sigmoid-loss J and the output saturation."""
    thetas = roll(params, layers)
    m = X.shape[0]
    K = layers[-1]
    Y = one_hot(y, K)

    # forward: a[0] = X, a[l] = hidden activations, z_out = output pre-activations
    a = [X]
    for theta in thetas[:-1]:
        a.append(sigmoid(with_bias(a[-1]) @ theta.T))
    z_out = with_bias(a[-1]) @ thetas[-1].T

    info = {}
    if loss == "sigmoid":
        h = sigmoid(z_out)
        # log h = −log(1 + e^−z), log(1 − h) = −log(1 + e^z)
        data = np.sum(Y * np.logaddexp(0.0, -z_out) + (1.0 - Y) * np.logaddexp(0.0, z_out)) / m
        with np.errstate(divide="ignore"):
            info["direct"] = np.sum(-Y * np.log(h) - (1.0 - Y) * np.log(1.0 - h)) / m
        # rounding bound of the direct formula: ~eps/h (label) or eps/(1−h) (others) per term
        info["direct_bound"] = np.sum(Y * 4 * EPS / h + (1.0 - Y) * 4 * EPS / (1.0 - h)) / m if np.all((h > 0) & (h < 1)) else math.inf
        info["min_margin"] = float(np.min(np.minimum(h, 1.0 - h)))
    elif loss == "softmax":
        zs = z_out - np.max(z_out, axis=1, keepdims=True)
        lse = np.log(np.sum(np.exp(zs), axis=1, keepdims=True))
        log_p = zs - lse
        h = np.exp(log_p)
        data = -np.sum(Y * log_p) / m
        info["min_margin"] = float(np.min(h))
    else:
        raise ValueError(loss)

    reg = lam / (2 * m) * sum(np.sum(t[:, 1:] ** 2) for t in thetas)
    J = data + reg
    if "direct" in info:
        info["direct"] += reg
    if not want_grad:
        return J, None, info

    grads = [None] * len(thetas)
    d = h - Y
    for l in range(len(thetas) - 1, -1, -1):
        grads[l] = d.T @ with_bias(a[l]) / m
        grads[l][:, 1:] += lam / m * thetas[l][:, 1:]
        if l > 0:
            d = (d @ thetas[l])[:, 1:] * a[l] * (1.0 - a[l])
    return J, unroll(grads), info


def numerical_gradient(layers, loss, params, X, y, lam, e=1e-4):
    num = np.zeros_like(params)
    perturb = np.zeros_like(params)
    for p in range(params.size):
        perturb[p] = e
        loss1, _, _ = nn_cost_function(layers, loss, params - perturb, X, y, lam, want_grad=False)
        loss2, _, _ = nn_cost_function(layers, loss, params + perturb, X, y, lam, want_grad=False)
        num[p] = (loss2 - loss1) / (2 * e)
        perturb[p] = 0.0
    return num


# ---------------------------------------------------------------------------------------------------------------
# arbitrary-precision reference (plain loops, per example, as the course's per-example backprop)


def mp_cost_gradient(layers, loss, params, X, y, lam, dps=40):
    with mpmath.workdps(dps):
        mpf = mpmath.mpf
        p = [mpf(float(v)) for v in params]  # exact: every double is an mpf
        nL = len(layers) - 1
        # T[l][j][i]: row j, column i (column 0 = bias) of Θ(l+1), from the column-major flat vector
        T, offs, off = [], [], 0
        for l in range(nL):
            rows, cols = layers[l + 1], layers[l] + 1
            offs.append(off)
            T.append([[p[off + i * rows + j] for i in range(cols)] for j in range(rows)])
            off += rows * cols
        m = X.shape[0]
        K = layers[-1]
        G = [[[mpf(0)] * (layers[l] + 1) for _ in range(layers[l + 1])] for l in range(nL)]
        total = mpf(0)
        for r in range(m):
            acts = [[mpf(float(v)) for v in X[r]]]
            z = None
            for l in range(nL):
                prev = [mpf(1)] + acts[-1]
                z = [mpmath.fsum(T[l][j][i] * prev[i] for i in range(len(prev))) for j in range(layers[l + 1])]
                if l < nL - 1:
                    acts.append([1 / (1 + mpmath.exp(-v)) for v in z])
            label = int(y[r])
            if loss == "sigmoid":
                h = [1 / (1 + mpmath.exp(-v)) for v in z]
                total += mpmath.fsum(-mpmath.log(h[k]) if k == label else -mpmath.log(1 - h[k]) for k in range(K))
            else:
                mx = max(z)
                s = mpmath.fsum(mpmath.exp(v - mx) for v in z)
                h = [mpmath.exp(v - mx) / s for v in z]
                total += mpmath.log(s) - (z[label] - mx)
            d = [h[k] - (1 if k == label else 0) for k in range(K)]
            for l in range(nL - 1, -1, -1):
                prev = [mpf(1)] + acts[l]
                for j in range(layers[l + 1]):
                    for i in range(len(prev)):
                        G[l][j][i] += d[j] * prev[i]
                if l > 0:
                    d = [mpmath.fsum(T[l][j][i + 1] * d[j] for j in range(layers[l + 1])) * acts[l][i] * (1 - acts[l][i])
                         for i in range(layers[l])]
        reg = mpmath.fsum(T[l][j][i] ** 2 for l in range(nL) for j in range(layers[l + 1]) for i in range(1, layers[l] + 1))
        J = total / m + lam * reg / (2 * m)
        grad = [mpf(0)] * len(p)
        for l in range(nL):
            rows = layers[l + 1]
            for j in range(rows):
                for i in range(layers[l] + 1):
                    g = G[l][j][i] / m
                    if i > 0:
                        g += lam * T[l][j][i] / m
                    grad[offs[l] + i * rows + j] = g
        return J, grad


# ---------------------------------------------------------------------------------------------------------------
# cases


def debug_matrix(rows: int, cols: int) -> np.ndarray:
    """The course's debugInitializeWeights fill: sin(1), sin(2), … column by column, divided by 10."""
    return np.sin(np.arange(1, rows * cols + 1, dtype=np.float64)).reshape((rows, cols), order="F") / 10


def debug_case(loss, lam):
    layers = [3, 5, 3]
    m = 5
    params = unroll([debug_matrix(5, 4), debug_matrix(3, 6)])
    X = debug_matrix(m, 3)  # X[i, j] = sin(1 + i + 5j)/10
    y = np.array([1, 2, 0, 1, 2])  # 1 + mod(1:m, 3) in the course's 1-based labels, minus 1
    return dict(name=f"debug-3-5-3-{loss}-lambda{lam:g}", layers=layers, loss=loss, lam=float(lam), m=m,
                params=params, X=X, y=y)


# (layers, loss, lambda, m, parameter scale, X kind, seed)
RANDOM = [
    ([4, 5, 3], "sigmoid", 0.0, 1, 1.0, "uniform", 101),
    ([4, 5, 3], "softmax", 1.0, 7, 1.0, "uniform", 102),
    ([6, 7, 5, 4], "sigmoid", 0.5, 10, 1.0, "uniform", 103),
    ([6, 7, 5, 4], "softmax", 3.0, 20, 1.0, "normal", 104),
    ([5, 8, 6, 7, 3], "sigmoid", 1.0, 13, 1.0, "normal", 105),
    ([5, 8, 6, 7, 3], "softmax", 10.0, 4, 2.0, "uniform", 106),
    ([10, 3, 2], "sigmoid", 3.0, 20, 1.0, "sparse", 107),
    ([10, 3, 2], "softmax", 0.0, 2, 1.0, "uniform", 108),
    ([3, 4, 4, 4, 4, 5], "sigmoid", 10.0, 9, 1.0, "uniform", 109),
    ([3, 4, 4, 4, 4, 5], "softmax", 0.5, 16, 1.5, "normal", 110),
    ([8, 16, 10], "sigmoid", 1.0, 20, 8.0, "uniform", 111),  # saturated: large weights
    ([8, 16, 10], "softmax", 1.0, 20, 8.0, "uniform", 112),  # saturated: large weights
    ([8, 16, 10], "sigmoid", 0.0, 1, 2.0, "normal", 113),
    ([12, 6, 3], "sigmoid", 0.5, 20, 4.0, "normal2", 114),  # saturated hidden layer (inputs with σ = 2)
    ([12, 6, 3], "softmax", 3.0, 11, 4.0, "normal2", 115),
    ([20, 12, 10], "sigmoid", 1.0, 15, 0.12, "sparse", 116),  # MNIST-like: sparse pixels, ε = 0.12 weights
    ([20, 12, 10], "softmax", 0.0, 15, 0.12, "sparse", 117),
    ([1, 1, 2], "sigmoid", 1.0, 3, 1.0, "uniform", 118),  # smallest network
    ([1, 1, 2], "softmax", 0.5, 3, 1.0, "uniform", 119),
    ([7, 9, 4], "softmax", 10.0, 17, 1.0, "uniform", 120),
]


def random_case(layers, loss, lam, m, scale, xkind, seed):
    rng = np.random.default_rng(seed)
    count = sum(layers[l + 1] * (layers[l] + 1) for l in range(len(layers) - 1))
    params = rng.uniform(-scale, scale, count)
    D = layers[0]
    if xkind == "uniform":
        X = rng.uniform(0.0, 1.0, (m, D))
    elif xkind == "normal":
        X = rng.normal(0.0, 1.0, (m, D))
    elif xkind == "normal2":
        X = rng.normal(0.0, 2.0, (m, D))
    elif xkind == "sparse":  # about 70% exact zeros, the rest in (0, 1] (exercises the zero-input skip)
        X = rng.uniform(0.0, 1.0, (m, D))
        X[rng.uniform(0.0, 1.0, (m, D)) < 0.7] = 0.0
    else:
        raise ValueError(xkind)
    y = rng.integers(0, layers[-1], m)
    name = f"random-{'-'.join(map(str, layers))}-{loss}-lambda{lam:g}-m{m}-scale{scale:g}-{xkind}"
    return dict(name=name, layers=list(layers), loss=loss, lam=float(lam), m=m, params=params, X=X, y=y)


def main() -> int:
    cases = [debug_case("sigmoid", 0.0), debug_case("sigmoid", 3.0), debug_case("softmax", 0.0), debug_case("softmax", 3.0)]
    cases += [random_case(*spec) for spec in RANDOM]
    names = [c["name"] for c in cases]
    assert len(set(names)) == len(names), "case names must be unique"

    out_cases = []
    worst = dict(gradcheck=0.0, mp_cost=0.0, mp_grad=0.0)
    for c in cases:
        layers, loss, lam, params, X, y = c["layers"], c["loss"], c["lam"], c["params"], c["X"], c["y"]
        assert X.shape == (c["m"], layers[0]) and y.shape == (c["m"],)
        J, grad, info = nn_cost_function(layers, loss, params, X, y, lam)
        assert np.isfinite(J) and np.all(np.isfinite(grad))

        # 1. the course's gradient check
        num = numerical_gradient(layers, loss, params, X, y, lam)
        rel = np.linalg.norm(num - grad) / np.linalg.norm(num + grad)
        assert rel < 1e-9, f"{c['name']}: gradient check relative difference {rel:.3e}"

        # 2. arbitrary precision
        Jmp, gmp = mp_cost_gradient(layers, loss, params, X, y, lam)
        gmp = np.array([float(v) for v in gmp])
        e_cost = abs(J - float(Jmp)) / abs(float(Jmp))
        e_grad = np.max(np.abs(grad - gmp)) / max(np.max(np.abs(gmp)), 1e-300)
        assert e_cost < 1e-13 and e_grad < 1e-13, f"{c['name']}: numpy vs mpmath cost {e_cost:.2e}, gradient {e_grad:.2e}"

        # the course's direct formula (sigmoid loss) must be finite and agree within its rounding bound
        if loss == "sigmoid":
            assert np.isfinite(info["direct"]), f"{c['name']}: log(0) in the direct formula"
            assert abs(info["direct"] - J) <= info["direct_bound"] + 1e-14 * J, \
                f"{c['name']}: direct {info['direct']!r} vs stable {J!r} (bound {info['direct_bound']:.2e})"

        worst["gradcheck"] = max(worst["gradcheck"], rel)
        worst["mp_cost"] = max(worst["mp_cost"], e_cost)
        worst["mp_grad"] = max(worst["mp_grad"], e_grad)
        print(f"{c['name']:<64} J={J:<20.15g} gradcheck={rel:.1e} vs-mp cost={e_cost:.1e} grad={e_grad:.1e}"
              f" min(h,1-h)={info['min_margin']:.1e}")

        out_cases.append({
            "name": c["name"],
            "layers": [int(s) for s in layers],
            "loss": loss,
            "lambda": float(lam),
            "m": int(c["m"]),
            "params": [float(v) for v in params],
            "X": [[float(v) for v in row] for row in X],
            "y": [int(v) for v in y],
            "cost": float(J),
            "gradient": [float(v) for v in grad],
        })

    # 3. the course's published values for the debug network
    by_name = {c["name"]: c for c in out_cases}
    d0 = by_name["debug-3-5-3-sigmoid-lambda0"]
    d3 = by_name["debug-3-5-3-sigmoid-lambda3"]
    assert abs(d0["cost"] - 2.100951) < 5e-7, d0["cost"]
    assert abs(d3["cost"] - 2.146360) < 5e-7, d3["cost"]
    for k, v in enumerate([-9.2783e-3, 8.8991e-3, -8.3601e-3, 7.6281e-3, -6.7480e-3]):
        assert abs(d0["gradient"][k] - v) < 5e-8 and abs(d3["gradient"][k] - v) < 5e-8, k
    assert abs(d0["gradient"][5] - -3.0498e-6) < 5e-11, d0["gradient"][5]
    assert abs(d3["gradient"][5] - -1.6768e-2) < 5e-7, d3["gradient"][5]

    text = ('{\n "generator": "scripts/golden_nn.py",\n "cases": [\n  '
            + ",\n  ".join(json.dumps(c, separators=(",", ":"), allow_nan=False) for c in out_cases)
            + "\n ]\n}\n")

    # the file must reproduce the inputs and outputs bit for bit
    back = json.loads(text)["cases"]
    for c, b in zip(out_cases, back):
        for key in ("params", "gradient"):
            assert np.array_equal(np.array(c[key]), np.array(b[key])), (c["name"], key)
        assert np.array_equal(np.array(c["X"]), np.array(b["X"])) and c["cost"] == b["cost"], c["name"]
        J2, g2, _ = nn_cost_function(b["layers"], b["loss"], np.array(b["params"]), np.array(b["X"]).reshape(b["m"], -1),
                                     np.array(b["y"]), b["lambda"])
        assert J2 == b["cost"] and np.array_equal(g2, np.array(b["gradient"])), c["name"]

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"{len(out_cases)} cases, {len(text)} bytes -> {os.path.relpath(OUT)}; worst: gradient check {worst['gradcheck']:.2e},"
          f" numpy vs mpmath cost {worst['mp_cost']:.2e}, gradient {worst['mp_grad']:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
