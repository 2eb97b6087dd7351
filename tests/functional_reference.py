"""Independent references for tests/test_functional_*.py.

Direct loop definitions of each op, written from the formulas (one output pixel, or one
input pixel, at a time) and sharing no code with course_utils.functional, plus a
central-difference gradient for the numerical gradient checks.
"""

from __future__ import annotations

import numpy as np


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d_loop(x, w, b=None, stride=1, pads=((0, 0), (0, 0)), dilation=1, groups=1):
    """out[n, o, h, w] = b[o] + sum_{c,i,j} w[o, c, i, j] x_pad[n, g*Cg + c, h*s + i*d, w*s + j*d]."""
    (sh, sw), (dh, dw) = pair(stride), pair(dilation)
    xp = np.pad(x, ((0, 0), (0, 0), *pads))
    n, c_in, hp, wp = xp.shape
    c_out, c_g, kh, kw = w.shape
    ho = (hp - dh * (kh - 1) - 1) // sh + 1
    wo = (wp - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, c_out, ho, wo), dtype=x.dtype)
    per_group = c_out // groups
    for o in range(c_out):
        g = o // per_group
        for r in range(ho):
            for c in range(wo):
                window = xp[
                    :,
                    g * c_g : (g + 1) * c_g,
                    r * sh : r * sh + dh * (kh - 1) + 1 : dh,
                    c * sw : c * sw + dw * (kw - 1) + 1 : dw,
                ]
                out[:, o, r, c] = (window * w[o]).sum(axis=(1, 2, 3))
    if b is not None:
        out += b[None, :, None, None]
    return out


def conv_transpose2d_loop(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Scatter definition: x[n, c, h, w] * w[c, o] lands on rows h*s - p + i*d, cols w*s - p + j*d."""
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = pair(stride), pair(padding), pair(output_padding), pair(dilation)
    n, c_in, h, wd = x.shape
    _, c_out_g, kh, kw = w.shape
    full = np.zeros(
        (n, c_out_g * groups, (h - 1) * sh + dh * (kh - 1) + 1 + oph, (wd - 1) * sw + dw * (kw - 1) + 1 + opw),
        dtype=x.dtype,
    )
    in_per_group = c_in // groups
    for c in range(c_in):
        g = c // in_per_group
        for r in range(h):
            for q in range(wd):
                for i in range(kh):
                    for j in range(kw):
                        full[:, g * c_out_g : (g + 1) * c_out_g, r * sh + i * dh, q * sw + j * dw] += (
                            x[:, c, r, q][:, None] * w[c, :, i, j][None, :]
                        )
    out = full[:, :, ph : full.shape[2] - ph, pw : full.shape[3] - pw]
    if b is not None:
        out = out + b[None, :, None, None]
    return out


def pool_windows(x, kernel, stride, padding, dilation, fill):
    """Yield (r, c, rows, cols, window) for every output pixel; rows/cols index x (may be out of range)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = pair(kernel), pair(stride), pair(padding), pair(dilation)
    n, ch, h, wd = x.shape
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    for r in range(ho):
        for c in range(wo):
            rows = [r * sh - ph + i * dh for i in range(kh)]
            cols = [c * sw - pw + j * dw for j in range(kw)]
            window = np.full((n, ch, kh, kw), fill, dtype=x.dtype)
            for i, rr in enumerate(rows):
                for j, cc in enumerate(cols):
                    if 0 <= rr < h and 0 <= cc < wd:
                        window[:, :, i, j] = x[:, :, rr, cc]
            yield r, c, rows, cols, window, (ho, wo)


def max_pool2d_loop(x, kernel, stride=None, padding=0, dilation=1):
    """Forward and the argmax routing: returns (out, grad_x for grad_out=g) as a function of g."""
    stride = kernel if stride is None else stride
    results = list(pool_windows(x, kernel, stride, padding, dilation, -np.inf))
    ho, wo = results[0][-1]
    out = np.empty((*x.shape[:2], ho, wo), dtype=x.dtype)
    for r, c, _, _, window, _ in results:
        out[:, :, r, c] = window.reshape(*x.shape[:2], -1).max(axis=2)

    def backward(g):
        grad = np.zeros_like(x)
        for r, c, rows, cols, window, _ in results:
            first = window.reshape(*x.shape[:2], -1).argmax(axis=2)  # first maximum, row-major
            for n in range(x.shape[0]):
                for ch in range(x.shape[1]):
                    i, j = divmod(int(first[n, ch]), len(cols))
                    if 0 <= rows[i] < x.shape[2] and 0 <= cols[j] < x.shape[3]:  # else a padded cell wins
                        grad[n, ch, rows[i], cols[j]] += g[n, ch, r, c]
        return grad

    return out, backward


def avg_pool2d_loop(x, kernel, stride=None, padding=0):
    stride = kernel if stride is None else stride
    results = list(pool_windows(x, kernel, stride, padding, 1, 0.0))
    ho, wo = results[0][-1]
    out = np.empty((*x.shape[:2], ho, wo), dtype=x.dtype)
    for r, c, _, _, window, _ in results:
        out[:, :, r, c] = window.mean(axis=(2, 3))  # padded zeros count (count_include_pad=True)
    return out


def numerical_gradient(f, x, eps=1e-6):
    """Central differences of the scalar function ``f`` at the float64 array ``x``."""
    x = x.copy()
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + eps
        up = f(x)
        flat[k] = old - eps
        down = f(x)
        flat[k] = old
        gflat[k] = (up - down) / (2 * eps)
    return grad


def check_backward(op, op_backward, x, w, b, rng, atol=1e-7, **kwargs):
    """Assert that ``op_backward`` gives the central-difference gradients of ``op``.

    For a random upstream gradient ``g`` (drawn from ``rng``), the gradients of
    ``sum(op(x, w, b, **kwargs) * g)`` with respect to ``x``, ``w`` and ``b`` must equal
    ``op_backward(g, x, w, b, **kwargs)``, and the bias gradient must be None without a bias.
    Returns ``g`` and the analytic gradients ``(grad_x, grad_w, grad_b)``.
    """
    g = rng.standard_normal(op(x, w, b, **kwargs).shape)
    grads = op_backward(g, x, w, b, **kwargs)
    f = lambda xx, ww, bb: (op(xx, ww, bb, **kwargs) * g).sum()  # noqa: E731
    numeric = (
        numerical_gradient(lambda v: f(v, w, b), x),
        numerical_gradient(lambda v: f(x, v, b), w),
        numerical_gradient(lambda v: f(x, w, v), b),
    )
    for name, got, expected in zip(("grad_x", "grad_weight", "grad_bias"), grads, numeric):
        np.testing.assert_allclose(got, expected, atol=atol, err_msg=name)
    assert op_backward(g, x, w, None, **kwargs)[2] is None
    return g, grads
