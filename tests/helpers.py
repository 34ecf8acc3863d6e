"""Shared test helpers: reference comparison with self-calibrating tolerances, finite-difference
gradient checks, and the device parametrization (NumPy always, CuPy where a GPU is present).

The comparison rule (from FlashAttention): compute the reference in higher precision
(float64 for float32 inputs, long double for float64 inputs) and the same reference in the
inputs' own precision (the "naive" baseline); require

    max|ours - ref_hi| <= 2 * max|naive - ref_hi| + ulps * eps(dtype) * max(1, max|ref_hi|)

so the tolerance follows each op's, dtype's and shape's actual rounding error. The small
absolute term (16 ulps of the output's magnitude) covers what the 2x rule cannot: ops that are
exact in the naive baseline (relu, max pool), and short reductions whose NumPy baseline happens
to land within an ulp or two while a kernel summing in another (equally valid) order lands a
few ulps away. A wrong kernel misses by many orders of magnitude more.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

import deepkern as dk

DEVICES = [pytest.param("cpu", id="cpu"),
           pytest.param("cuda", id="cuda", marks=pytest.mark.cuda)]


def xp_for(device):
    """numpy for 'cpu'; cupy for 'cuda' (skipping the test where no GPU is usable)."""
    if device == "cpu":
        return np
    if not dk.cuda.is_available():
        if os.environ.get("DEEPKERN_REQUIRE_CUDA") == "1":  # scripts/gpu_check.sh: never skip
            pytest.fail("DEEPKERN_REQUIRE_CUDA=1 but deepkern.cuda.is_available() is False")
        pytest.skip("no CUDA device (or CuPy) on this machine")
    import cupy
    return cupy


def to_host(x):
    if x is None:
        return None
    if isinstance(x, (tuple, list)):
        return type(x)(to_host(v) for v in x)
    return x.get() if hasattr(x, "get") and not isinstance(x, np.ndarray) else np.asarray(x)


def _upcast(x, dtype):
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return x.astype(dtype)
    return x


def assert_matches_reference(ours, ref_fn, *inputs, ulps=16, slack=2.0, **kwargs):
    """Compare ``ours`` (array or tuple of arrays) with ``ref_fn(*inputs, **kwargs)``.

    ``inputs`` are host (NumPy) arrays in the precision under test; ``ref_fn`` must be written
    generically enough to run on float32, float64 and long double arrays.
    """
    inputs = [to_host(x) for x in inputs]
    ours = to_host(ours)
    dtype = next(x.dtype for x in inputs if isinstance(x, np.ndarray) and x.dtype.kind == "f")
    hi = np.longdouble if dtype == np.float64 else np.float64
    ref = ref_fn(*[_upcast(x, hi) for x in inputs], **kwargs)
    naive = ref_fn(*inputs, **kwargs)
    if not isinstance(ours, tuple):
        ours, ref, naive = (ours,), (ref,), (naive,)
    assert len(ours) == len(ref), f"expected {len(ref)} outputs, got {len(ours)}"
    for i, (o, r, n) in enumerate(zip(ours, ref, naive)):
        if r is None:
            assert o is None, f"output {i}: expected None"
            continue
        o, r, n = np.asarray(o), np.asarray(r), np.asarray(n)
        assert o.shape == r.shape, f"output {i}: shape {o.shape} != reference {r.shape}"
        assert o.dtype == dtype or o.dtype.kind != "f", f"output {i}: dtype {o.dtype} != {dtype}"
        if o.size == 0:
            continue
        assert np.all(np.isfinite(o) == np.isfinite(r)), f"output {i}: non-finite values differ"
        fin = np.isfinite(r)
        err = float(np.max(np.abs(o[fin].astype(hi) - r[fin]), initial=0))
        base = float(np.max(np.abs(n[fin].astype(hi) - r[fin]), initial=0))
        scale = max(1.0, float(np.max(np.abs(r[fin]), initial=0)))
        tol = slack * base + ulps * float(np.finfo(dtype).eps) * scale
        assert err <= tol, (f"output {i}: max error {err:.3e} > tolerance {tol:.3e} "
                            f"(naive {dtype} error {base:.3e})")


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-6, rtol=1e-5, seed=0):
    """Finite-difference check of ``fn``'s backward at float64 ``inputs`` (host arrays).

    ``fn`` maps Tensors to a Tensor or tuple of Tensors. The scalar checked is
    sum_k <out_k, v_k> for random v_k, so every output element's gradient is exercised.
    Inputs given as non-float arrays or other objects are passed through unchanged.
    """
    rng = np.random.default_rng(seed)
    is_param = [isinstance(x, np.ndarray) and x.dtype == np.float64 for x in inputs]
    tensors = [dk.Tensor(x.copy(), requires_grad=True) if p else x for x, p in zip(inputs, is_param)]
    outs = fn(*tensors)
    outs = outs if isinstance(outs, tuple) else (outs,)
    vs = [rng.standard_normal(o.shape) for o in outs]

    def scalar(*arrays):
        with dk.no_grad():
            res = fn(*[dk.Tensor(a) if p else a for a, p in zip(arrays, is_param)])
        res = res if isinstance(res, tuple) else (res,)
        return sum(float(np.sum(to_host(r.data) * v)) for r, v in zip(res, vs))

    total = None
    for o, v in zip(outs, vs):
        term = (o * dk.Tensor(v)).sum()
        total = term if total is None else total + term
    total.backward()
    for idx, (x, p) in enumerate(zip(inputs, is_param)):
        if not p:
            continue
        analytic = tensors[idx].grad
        assert analytic is not None, f"input {idx}: no gradient reached it"
        numeric = np.zeros_like(x)
        args = [a.copy() if isinstance(a, np.ndarray) else a for a in inputs]
        flat = args[idx].reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            up = scalar(*args)
            flat[j] = old - eps
            down = scalar(*args)
            flat[j] = old
            numeric.reshape(-1)[j] = (up - down) / (2 * eps)
        np.testing.assert_allclose(to_host(analytic), numeric, atol=atol, rtol=rtol,
                                   err_msg=f"gradient of input {idx}")


def with_params(module, values, fn):
    """``fn()`` evaluated with ``module``'s parameters (each once, in ``parameters()`` order)
    replaced by ``values`` (Tensors), so ``gradcheck`` can differentiate a Module's output with
    respect to its weights: ``gradcheck(lambda *ps: with_params(m, ps, lambda: m(x)), *arrays)``."""
    slots = [(m, name, p) for m in module.modules() for name, p in m._parameters.items() if p is not None]
    by_id = {id(p): v for p, v in zip(module.parameters(), values)}
    try:
        for m, name, p in slots:
            m._parameters[name] = by_id[id(p)]
        return fn()
    finally:
        for m, name, p in slots:
            m._parameters[name] = p
