"""dk.optim.LBFGS: PyTorch's iterates on the Rosenbrock function (where torch is installed),
and the properties that hold without it: quadratics solved in n iterations, convergence on
Rosenbrock, the history bound, tolerances, state_dict round trip, argument errors."""
import numpy as np
import pytest

import deepkern as dk
from deepkern.optim import LBFGS


def rosenbrock(x):
    """sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2 (minimum 0 at all ones), on a Tensor."""
    a, b = x[1:], x[:-1]
    return ((a - b * b) ** 2 * 100.0 + (1.0 - b) ** 2).sum()


def run(x0, steps, **options):
    """Iterates of LBFGS on Rosenbrock: x after each of `steps` step() calls, and the optimizer."""
    x = dk.Tensor(np.array(x0, dtype=np.float64), requires_grad=True)
    opt = LBFGS([x], **options)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    path = []
    for _ in range(steps):
        opt.step(closure)
        path.append(x.data.copy())
    return np.array(path), opt


CASES = [
    dict(line_search_fn="strong_wolfe", max_iter=4, history_size=5),
    dict(line_search_fn="strong_wolfe", max_iter=20, history_size=100),
    dict(line_search_fn=None, lr=0.1, max_iter=3, history_size=2),
    dict(line_search_fn="strong_wolfe", max_iter=7, history_size=3, tolerance_change=1e-4),
]


def rosenbrock_and_gradient(x):
    """f and its gradient in NumPy: both optimizers see bit-identical values."""
    a, b = x[1:], x[:-1]
    f = np.sum(100 * (a - b * b) ** 2 + (1 - b) ** 2)
    g = np.zeros_like(x)
    g[1:] += 200 * (a - b * b)
    g[:-1] += -400 * b * (a - b * b) - 2 * (1 - b)
    return f, g


@pytest.mark.parametrize("options", CASES, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("x0", [[-1.5, 2.0], [-1.2, 1.0, 0.5, -0.3, 2.0]])
def test_iterates_match_pytorch_on_rosenbrock(options, x0):
    """The same iterates, evaluation counts and history as torch.optim.LBFGS, step by step. The
    objective is evaluated in NumPy for both, so only the optimizers' arithmetic differs: PyTorch
    fuses x + alpha y into FMAs, NumPy rounds twice, and on Rosenbrock's curved valley the line
    searches amplify those last-bit differences to ~1e-7 over 40 iterations (hence rtol 1e-6;
    a wrong branch in the algorithm moves the iterates by far more, or changes the counts)."""
    torch = pytest.importorskip("torch")
    x = dk.Tensor(np.array(x0, dtype=np.float64), requires_grad=True)
    opt = LBFGS([x], **options)
    xt = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.LBFGS([xt], **options)

    def ours():
        f, x.grad = rosenbrock_and_gradient(x.data)
        return dk.Tensor(np.array(f))

    def theirs():
        f, g = rosenbrock_and_gradient(xt.detach().numpy())
        xt.grad = torch.from_numpy(g)
        return torch.tensor(f)

    for step in range(6):
        assert float(opt.step(ours).item()) == pytest.approx(float(topt.step(theirs)), rel=1e-6)
        np.testing.assert_allclose(x.data, xt.detach().numpy(), rtol=1e-6, atol=1e-9, err_msg=f"step {step}")
        s, ts = opt.state[x], topt.state[xt]
        assert (s["func_evals"], s["n_iter"], len(s["old_dirs"])) == (ts["func_evals"], ts["n_iter"],
                                                                       len(ts["old_dirs"])), f"step {step}"
        assert s["t"] == pytest.approx(float(ts["t"]), rel=1e-5)


def test_rosenbrock_converges_with_strong_wolfe():
    # tolerance_change=0: with the default 1e-9 the run stops (as PyTorch's does) once the loss
    # changes by less than that, 2e-5 from the minimum.
    path, opt = run([-1.2, 1.0], 3, line_search_fn="strong_wolfe", max_iter=50, max_eval=200, tolerance_change=0)
    np.testing.assert_allclose(path[-1], [1.0, 1.0], atol=1e-8)
    state = opt.state[opt.param_groups[0]["params"][0]]
    assert state["n_iter"] <= 45  # BFGS needs ~35 iterations from (-1.2, 1) (Nocedal & Wright)


@pytest.mark.parametrize("n", [2, 5, 12])
def test_quadratic_is_solved_in_n_iterations(n):
    """f = 1/2 x'Ax - b'x (A SPD, condition 10, n-dim). A first trial step that overshoots the
    minimum along d (lr=1000) sends the strong-Wolfe search to its zoom, whose cubic through two
    points and slopes is the quadratic itself: every search ends at the exact minimizer along d.
    With exact line searches and history >= n, L-BFGS is BFGS is conjugate gradients: x* after
    exactly n iterations, not before."""
    rng = np.random.default_rng(n)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = q @ np.diag(np.linspace(1.0, 10.0, n)) @ q.T
    b = rng.standard_normal(n)
    solution = np.linalg.solve(a, b)

    def solve(iterations):
        x = dk.Tensor(np.zeros(n), requires_grad=True)
        opt = LBFGS([x], lr=1000, max_iter=iterations, max_eval=100 * n, line_search_fn="strong_wolfe",
                    history_size=n, tolerance_grad=0, tolerance_change=0)

        def closure():
            opt.zero_grad()
            row = dk.functional.reshape(x, (1, n))
            loss = ((row @ dk.Tensor(a)) * row).sum() * 0.5 - (x * dk.Tensor(b)).sum()
            loss.backward()
            return loss

        opt.step(closure)
        assert opt.state[x]["n_iter"] == iterations
        return x.data

    np.testing.assert_allclose(solve(n), solution, rtol=0, atol=1e-11)
    assert np.max(np.abs(solve(n - 1) - solution)) > 1e-6


def test_history_is_bounded_and_state_round_trips():
    full, _ = run([-1.2, 1.0, 0.3], 6, line_search_fn="strong_wolfe", max_iter=3, history_size=2)
    first, opt = run([-1.2, 1.0, 0.3], 3, line_search_fn="strong_wolfe", max_iter=3, history_size=2)
    state = opt.state[opt.param_groups[0]["params"][0]]
    assert len(state["old_dirs"]) == len(state["old_stps"]) == len(state["ro"]) == 2
    saved = opt.state_dict()
    x = dk.Tensor(first[-1].copy(), requires_grad=True)
    again = LBFGS([x], line_search_fn="strong_wolfe", max_iter=3, history_size=2)
    again.load_state_dict(saved)

    def closure():
        again.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    rest = []
    for _ in range(3):
        again.step(closure)
        rest.append(x.data.copy())
    np.testing.assert_allclose(np.array(rest), full[3:], rtol=1e-12)


def test_stops_at_tolerance_grad_and_returns_the_first_loss():
    x = dk.Tensor(np.ones(4), requires_grad=True)
    opt = LBFGS([x])
    calls = []

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        calls.append(float(loss.item()))
        return loss

    loss = opt.step(closure)
    assert calls == [0.0] and float(loss.item()) == 0.0 and np.array_equal(x.data, np.ones(4))


def test_several_parameters_move_as_one_vector():
    a = dk.Tensor(np.array([-1.2]), requires_grad=True)
    b = dk.Tensor(np.array([[1.0]]), requires_grad=True)
    opt = LBFGS([a, b], line_search_fn="strong_wolfe", max_iter=100, max_eval=200, tolerance_change=0)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(dk.functional.cat([a, b.reshape(1)]))
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose([a.data[0], b.data[0, 0]], [1.0, 1.0], atol=1e-6)


def test_float32_parameters_stay_float32():
    x = dk.Tensor(np.array([-1.2, 1.0], np.float32), requires_grad=True)
    opt = LBFGS([x], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    for _ in range(5):
        opt.step(closure)
    assert x.data.dtype == np.float32
    np.testing.assert_allclose(x.data, [1.0, 1.0], atol=1e-3)


def test_errors():
    x = dk.Tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(TypeError, match="LBFGS.step needs a closure"):
        LBFGS([x]).step()
    with pytest.raises(ValueError, match="line_search_fn must be None or 'strong_wolfe', got 'armijo'"):
        LBFGS([x], line_search_fn="armijo")
    with pytest.raises(ValueError, match="LBFGS: history_size must be >= 1, got 0"):
        LBFGS([x], history_size=0)
    with pytest.raises(ValueError, match="LBFGS: max_iter must be >= 1, got 0"):
        LBFGS([x], max_iter=0)
    with pytest.raises(ValueError, match=r"LBFGS: lr must be in \[0.0, None\], got -1.0"):
        LBFGS([x], lr=-1.0)
    y = dk.Tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        LBFGS([{"params": [x]}, {"params": [y]}])
    opt = LBFGS([x])
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        opt.add_param_group({"params": [y]})
