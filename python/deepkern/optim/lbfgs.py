"""L-BFGS (Liu & Nocedal 1989) with PyTorch's semantics: ``step(closure)`` runs up to
``max_iter`` iterations, keeping the last ``history_size`` curvature pairs across calls, with a
fixed step ``lr`` or a strong-Wolfe line search (cubic interpolation, Nocedal & Wright
algorithms 3.5/3.6, as ``torch.optim.LBFGS(line_search_fn='strong_wolfe')``).

All parameters are handled as one flat vector x (their gradients as one flat g). Iteration k:

    s = x_k - x_{k-1} = t d,  y = g_k - g_{k-1};   kept when y.s > 1e-10 (curvature condition)
    d = -H g  by the two-loop recursion over the kept (s, y) pairs, H_0 = (y.s / y.y) I
    x += t d,  t = lr (the first iteration: min(1, 1/|g|_1) lr), or from the line search

and the run stops early when max|g| <= tolerance_grad, when max|t d| or the change of the loss
is <= tolerance_change, or after ``max_eval`` closure calls. The same options give the same
iterates as PyTorch (to rounding).
"""
from __future__ import annotations

import math

from .. import _checks
from .._backend import array_module, is_array
from .._device import device_of, to_device
from ..autograd import enable_grad, no_grad
from .optimizer import Optimizer

__all__ = ["LBFGS"]


def _float(loss) -> float:
    """A closure's loss (a Tensor, array or number) as a Python float."""
    return float(loss.item() if hasattr(loss, "item") else loss)


def _max_abs(v) -> float:
    return float(abs(v).max()) if v.size else 0.0


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimizer of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clamped to
    ``bounds`` (default: the interval between x1 and x2); the bounds' midpoint when the cubic
    has no minimizer."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(pos, lo), hi)
    return (lo + hi) / 2


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Step length t along d satisfying the strong Wolfe conditions
    f(t) <= f + c1 t gtd and |f'(t)| <= c2 |gtd| (gtd = g.d < 0), by bracketing then zooming
    with safeguarded cubic interpolation. ``evaluate(t)`` returns (loss, flat gradient) at x + t d.
    Returns (f(t), g(t), t, number of evaluations)."""
    d_norm = _max_abs(d)
    f_new, g_new = evaluate(t)
    evals = 1
    gtd_new = float(g_new.dot(d))
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        # Bracketing: grow t until [t_prev, t] holds a point satisfying the conditions.
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        min_step, max_step = t + 0.01 * (t - t_prev), t * 10
        t_prev, t = t, _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        f_prev, g_prev, gtd_prev = f_new, g_new, gtd_new
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new.dot(d))
        ls_iter += 1
    if ls_iter >= max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]

    # Zoom: shrink the bracket [low, high] (f(low) <= f(high)) around an acceptable point.
    insufficient_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # Safeguard: a point too close to an end of the bracket is moved 10% inside it, on the
        # second time in a row (or at once when it falls outside).
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insufficient_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new.dot(d))
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high], bracket_g[high], bracket_gtd[high] = t, f_new, g_new, gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low], bracket_g[low], bracket_gtd[low] = t, f_new, g_new, gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evals


class LBFGS(Optimizer):
    """torch.optim.LBFGS: ``LBFGS(params, lr=1, max_iter=20, max_eval=None (max_iter * 5 // 4),
    tolerance_grad=1e-7, tolerance_change=1e-9, history_size=100, line_search_fn=None)``.

    ``step(closure)`` needs a closure that clears the gradients, computes the loss, calls
    ``backward()`` and returns the loss; it is called about once per iteration (more with
    ``line_search_fn='strong_wolfe'``). Returns the loss of the closure's first call. One
    parameter group only (the parameters are optimized as one vector); memory: 2 history_size
    vectors of the parameters' total size.
    """

    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval=None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100, line_search_fn=None):
        if max_eval is None and isinstance(max_iter, int) and not isinstance(max_iter, bool):
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def add_param_group(self, group: dict) -> None:
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(group)

    def _check_options(self, group):
        super()._check_options(group)
        name = type(self).__name__
        _checks.integer(name, "max_iter", group["max_iter"], minimum=1)
        _checks.integer(name, "max_eval", group["max_eval"], minimum=1)
        _checks.integer(name, "history_size", group["history_size"], minimum=1)
        _checks.real(name, "tolerance_grad", group["tolerance_grad"], low=0.0)
        _checks.real(name, "tolerance_change", group["tolerance_change"], low=0.0)
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(f"{name}: line_search_fn must be None or 'strong_wolfe', got {group['line_search_fn']!r}")

    # ---- the parameters as one flat vector -------------------------------------------------
    def _flat_grad(self):
        xp = array_module(self._params[0].data)
        parts = []
        for p in self._params:
            if p.grad is None:
                parts.append(xp.zeros(p.data.size, dtype=p.dtype))
            else:
                parts.append(self._grad(p).reshape(-1))
        return xp.concatenate(parts)

    def _add_to_params(self, t, d):
        """x += t d."""
        offset = 0
        for p in self._params:
            n = p.data.size
            p.data += (t * d[offset:offset + n]).reshape(p.shape)
            offset += n

    def _evaluate(self, closure):
        with enable_grad():
            loss = _float(closure())
        return loss, self._flat_grad()

    # ---- one call: up to max_iter iterations -------------------------------------------------
    def step(self, closure=None):
        if closure is None:
            raise TypeError("LBFGS.step needs a closure that re-evaluates the model and returns the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        history_size, line_search_fn = group["history_size"], group["line_search_fn"]
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            orig_loss = closure()
        loss = _float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if _max_abs(flat_grad) <= tolerance_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_flat_grad, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        opt_cond = False
        with no_grad():
            while n_iter < max_iter:
                n_iter += 1
                state["n_iter"] += 1
                # Direction.
                if state["n_iter"] == 1:
                    d = -flat_grad
                    old_dirs, old_stps, ro = [], [], []
                    h_diag = 1.0
                else:
                    y = flat_grad - prev_flat_grad
                    s = d * d.dtype.type(t)
                    ys = float(y.dot(s))
                    if ys > 1e-10:
                        if len(old_dirs) == history_size:
                            old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                        old_dirs.append(y)
                        old_stps.append(s)
                        ro.append(1.0 / ys)
                        h_diag = ys / float(y.dot(y))
                    # Two-loop recursion: d = -H g.
                    al = [0.0] * len(old_dirs)
                    q = -flat_grad
                    for i in range(len(old_dirs) - 1, -1, -1):
                        al[i] = float(old_stps[i].dot(q)) * ro[i]
                        q -= q.dtype.type(al[i]) * old_dirs[i]
                    d = r = q * q.dtype.type(h_diag)
                    for i in range(len(old_dirs)):
                        be_i = float(old_dirs[i].dot(r)) * ro[i]
                        r += r.dtype.type(al[i] - be_i) * old_stps[i]
                prev_flat_grad = flat_grad.copy()
                prev_loss = loss

                # Step length.
                if state["n_iter"] == 1:
                    t = min(1.0, 1.0 / float(abs(flat_grad).sum())) * lr
                else:
                    t = lr
                gtd = float(flat_grad.dot(d))
                if gtd > -tolerance_change:  # not a descent direction (to rounding): stop
                    break

                ls_evals = 0
                if line_search_fn == "strong_wolfe":
                    x0 = [p.data.copy() for p in self._params]

                    def at(step):
                        self._add_to_params(step, d)
                        result = self._evaluate(closure)
                        for p, x in zip(self._params, x0):
                            p.data[...] = x
                        return result

                    # The search may spend what is left of max_eval (PyTorch's rule).
                    loss, flat_grad, t, ls_evals = _strong_wolfe(at, t, d, loss, flat_grad, gtd,
                                                                 max_ls=max_eval - evals)
                    self._add_to_params(t, d)
                    opt_cond = _max_abs(flat_grad) <= tolerance_grad
                else:
                    self._add_to_params(t, d)
                    if n_iter != max_iter:  # the last iteration's point is evaluated by the next call
                        loss, flat_grad = self._evaluate(closure)
                        opt_cond = _max_abs(flat_grad) <= tolerance_grad
                        ls_evals = 1
                evals += ls_evals
                state["func_evals"] += ls_evals

                if n_iter == max_iter or evals >= max_eval or opt_cond:
                    break
                if _max_abs(d) * abs(t) <= tolerance_change:  # the step is too small
                    break
                if abs(loss - prev_loss) < tolerance_change:           # the loss stopped changing
                    break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    # ---- state ----------------------------------------------------------------------------------
    def _state_value(self, p, index, key, value):
        """LBFGS keeps flat vectors, lists of them and numbers (not per-parameter arrays)."""
        if key in ("func_evals", "n_iter"):
            return int(value.item() if hasattr(value, "item") else value)
        if key in ("t", "H_diag", "prev_loss"):
            return None if value is None else float(value.item() if hasattr(value, "item") else value)
        if key == "ro":
            return [float(v.item() if hasattr(v, "item") else v) for v in value]
        if key in ("d", "prev_flat_grad"):
            return self._flat_value(key, value)
        if key in ("old_dirs", "old_stps"):
            return [self._flat_value(key, v) for v in value]
        if key == "al":  # PyTorch's scratch for the two-loop recursion: not needed
            return None
        raise ValueError(f"LBFGS.load_state_dict: unknown state entry {key!r}")

    def _flat_value(self, key, value):
        if hasattr(value, "detach") and hasattr(value, "numpy") and not is_array(value):
            value = value.detach().cpu().numpy()  # a torch tensor
        first = self._params[0]
        size = sum(p.data.size for p in self._params)
        if not is_array(value) or value.shape != (size,):
            raise ValueError(f"LBFGS.load_state_dict: state[{key!r}] must be a flat array of the parameters' "
                             f"{size} elements, got {getattr(value, 'shape', type(value).__name__)}")
        value = to_device(value, device_of(first.data))
        return array_module(value).array(value, dtype=first.dtype, copy=True)
