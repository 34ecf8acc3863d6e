"""RNN benchmark cases: one LSTM / GRU layer over a sequence (the course-sized case: batch 64,
input 256, hidden 512, T = 50, float32), forward (no autograd) and forward + backward (BPTT,
every gradient). deepkern runs its fused sequence ops (deepkern.ops.lstm_forward/_backward,
gru_*), PyTorch its nn.LSTM / nn.GRU layer with the same weights, the reference the NumPy
step-by-step loops. Outputs are allocated on every call by all three."""
from __future__ import annotations

from . import Case

_GATES = {"lstm": 4, "gru": 3}


def _case(cell, T, B, I, H, backward, dtype="float32"):
    G = _GATES[cell]

    def setup(ctx):
        from .. import ops, reference
        xp = ctx.xp
        k = H ** -0.5
        x = ctx.randn(T, B, I, dtype=dtype)
        w_ih, w_hh = ctx.randn(G * H, I, dtype=dtype) * k, ctx.randn(G * H, H, dtype=dtype) * k
        b_ih, b_hh = ctx.randn(G * H, dtype=dtype) * k, ctx.randn(G * H, dtype=dtype) * k
        h0 = xp.zeros((B, H), dtype=dtype)
        g = ctx.randn(T, B, H, dtype=dtype)
        lib = {"deepkern": ops}
        if ctx.device == "cpu":
            lib["reference"] = reference
        fns = {}
        for name, m in lib.items():
            if cell == "lstm":
                def run(m=m):
                    out, _, _, saved = m.lstm_forward(x, h0, h0, w_ih, w_hh, b_ih, b_hh)
                    if backward:
                        m.lstm_backward(g, None, None, x, h0, h0, w_ih, w_hh, saved)
            else:
                def run(m=m):
                    out, _, saved = m.gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh)
                    if backward:
                        m.gru_backward(g, None, x, h0, w_ih, w_hh, saved)
            fns[name] = run
        if ctx.torch is not None:
            torch = ctx.torch
            layer = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(I, H)
            if ctx.device == "cuda":
                layer = layer.cuda()
            with torch.no_grad():
                for p, a in zip(layer.parameters(), (w_ih, w_hh, b_ih, b_hh)):
                    p.copy_(ctx.tensor(a))
            tx, tg = ctx.tensor(x).clone().requires_grad_(backward), ctx.tensor(g)

            def run_torch():
                if not backward:
                    with torch.no_grad():
                        return layer(tx)
                layer.zero_grad()
                tx.grad = None
                out, _ = layer(tx)
                out.backward(tg)
            fns["torch"] = run_torch
        return fns

    flops = 2.0 * T * B * G * H * (I + H) * (3 if backward else 1)
    op = f"{cell}_{'forward_backward' if backward else 'forward'}"
    return Case("rnn", op, f"T={T},B={B},I={I},H={H}", setup, flops=flops, dtype=dtype)


def cases():
    return [_case(cell, 50, 64, 256, 512, bwd) for cell in ("lstm", "gru") for bwd in (False, True)]
