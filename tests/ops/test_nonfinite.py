"""NaN and ±inf through every op, as PyTorch 2.13 treats them.

One table: each case runs a deepkern op on inputs holding NaN, inf and -inf, and states what
PyTorch returns for the same inputs (the expected values were taken from torch 2.13.0 on the
CPU and are checked against torch itself by the second test wherever torch is installed).
The rule a diverging network depends on: a NaN in is a NaN out, never hidden (relu(NaN) is NaN,
and its gradient at NaN passes through). Where PyTorch's answer is a convention rather than
arithmetic, the case says so: binary_cross_entropy clamps log at -100 (and refuses a NaN
probability, as an out-of-range one), a fully masked attention row gives zeros, max pooling
returns NaN when a window holds one.

torchvision (box_iou, nms) is not installable here: box_iou's expected values follow
torchvision's formula written in torch; nms has no PyTorch reference and states deepkern's
documented rule (NaN scores are dropped, a NaN box suppresses nothing).
"""
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import pytest

from deepkern import ops
from tests.helpers import DEVICES, to_host, xp_for

N, I = np.nan, np.inf


def f32(*values):
    return np.array(values, np.float32)


@dataclass
class Case:
    name: str
    dk: Callable            # dk(xp) -> array (or tuple: the first is compared)
    expected: list           # PyTorch's result
    torch: Optional[Callable] = None   # torch(torch_module) -> tensor, the same computation
    atol: float = 1e-6
    raises: Optional[str] = None       # deepkern raises ValueError matching this instead
    torch_raises: Optional[str] = None  # PyTorch raises RuntimeError matching this


def _F(torch):
    return torch.nn.functional


def _grad(torch, fn, x):
    t = torch.tensor(x, requires_grad=True)
    fn(t).backward(torch.ones_like(fn(t)))
    return t.grad


X = f32(N, I, -I, 0, -1, 2)
POOL = np.array([[[[N, 1, 2], [3, -I, I], [-I, -I, -I]]]], np.float32)
CONV_X = np.array([[[[N, 0, 0], [0, 1, 0], [0, 0, I]]]], np.float32)
GRAM_X = np.array([[[[N, 1]], [[I, 0]], [[0, 2]]]], np.float32)   # (1, 3, 1, 2): channels as rows
SOFTMAX_ROWS = np.array([[N, 0, 1], [I, 0, 1], [-I, 0, 1], [-I, -I, -I], [I, I, 0]], np.float32)
ATT_Q = np.zeros((1, 2, 3), np.float32)
ATT_Q[0, 0, 0] = N
ATT_K = np.zeros((1, 4, 3), np.float32)
ATT_V = np.arange(8, dtype=np.float32).reshape(1, 4, 2)
RNN_X = np.array([[N, 0], [I, 0], [-I, 1]], np.float32)
RNN_H = np.zeros((3, 2), np.float32)
RNN_W_IH = lambda gates: np.full((gates * 2, 2), 0.5, np.float32)  # noqa: E731
RNN_W_HH = lambda gates: np.full((gates * 2, 2), 0.25, np.float32)  # noqa: E731


def _torch_box_iou(torch, a, b):
    """torchvision.ops.box_iou's formula."""
    a, b = torch.tensor(a), torch.tensor(b)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area_a[:, None] + area_b[None, :] - inter)


BOXES_A = np.array([[0, 0, 2, 2], [0, 0, N, 2], [0, 0, I, 2], [-I, -I, I, I]], np.float32)
BOXES_B = np.array([[0, 0, 2, 2], [1, 1, 3, 3]], np.float32)


def _optim_case(name, torch_opt, dk_step, **kw):
    param, grad = f32(1, 1, 1, 1), f32(N, I, -I, 1)

    def run_dk(xp):
        p, g = xp.array(param), xp.array(grad)  # copies: the step works in place
        state = [xp.zeros_like(p) for _ in range(3)]
        dk_step(p, g, state)
        return p

    def run_torch(torch):
        p = torch.tensor(param, requires_grad=True)
        p.grad = torch.tensor(grad)
        torch_opt(torch, [p]).step()
        return p.detach()
    return name, run_dk, run_torch


CASES = [
    # ---- activations: forward and the gradient wrt the input ------------------------------
    Case("relu", lambda xp: ops.relu(xp.asarray(X)), [N, I, 0, 0, 0, 2], lambda t: t.relu(t.tensor(X))),
    Case("relu_backward", lambda xp: ops.relu_backward(xp.ones(6, np.float32), xp.asarray(X)), [1, 1, 0, 0, 0, 1],
         lambda t: _grad(t, t.relu, X)),
    Case("leaky_relu", lambda xp: ops.leaky_relu(xp.asarray(X), 0.1), [N, I, -I, 0, -0.1, 2],
         lambda t: _F(t).leaky_relu(t.tensor(X), 0.1)),
    Case("leaky_relu_backward", lambda xp: ops.leaky_relu_backward(xp.ones(6, np.float32), xp.asarray(X), 0.1),
         [0.1, 1, 0.1, 0.1, 0.1, 1], lambda t: _grad(t, lambda v: _F(t).leaky_relu(v, 0.1), X)),
    Case("sigmoid", lambda xp: ops.sigmoid(xp.asarray(X)), [N, 1, 0, 0.5, 0.26894143, 0.880797],
         lambda t: t.sigmoid(t.tensor(X))),
    Case("sigmoid_backward", lambda xp: ops.sigmoid_backward(xp.ones(6, np.float32), ops.sigmoid(xp.asarray(X))),
         [N, 0, 0, 0.25, 0.19661194, 0.10499363], lambda t: _grad(t, t.sigmoid, X)),
    Case("tanh", lambda xp: ops.tanh(xp.asarray(X)), [N, 1, -1, 0, -0.7615942, 0.9640276],
         lambda t: t.tanh(t.tensor(X))),
    Case("tanh_backward", lambda xp: ops.tanh_backward(xp.ones(6, np.float32), ops.tanh(xp.asarray(X))),
         [N, 0, 0, 1, 0.41997433, 0.07065082], lambda t: _grad(t, t.tanh, X)),
    Case("dropout (NaN kept or dropped is NaN: x * mask)", lambda xp: ops.dropout(xp.full(64, N, np.float32), 0.5)[0],
         [N] * 64, lambda t: _F(t).dropout(t.full((64,), N), 0.5, True)),
    # ---- products ----------------------------------------------------------------------------
    Case("matmul (0 * inf is NaN)", lambda xp: ops.matmul(xp.asarray([[N, 1], [1, 1], [I, 0]], np.float32),
                                                           xp.asarray([[1, 0], [I, 1]], np.float32)),
         [[N, N], [I, 1], [N, N]],
         lambda t: t.tensor([[N, 1], [1, 1], [I, 0]]) @ t.tensor([[1., 0], [I, 1]])),
    Case("linear", lambda xp: ops.linear(xp.asarray([[N, 1], [1, I]], np.float32),
                                         xp.asarray([[1, 0], [0, 1], [1, 1]], np.float32), xp.asarray(f32(0, 1, -I))),
         [[N, N, N], [N, I, N]],
         lambda t: _F(t).linear(t.tensor([[N, 1], [1, I]]), t.tensor([[1., 0], [0, 1], [1, 1]]), t.tensor(f32(0, 1, -I)))),
    Case("conv2d", lambda xp: ops.conv2d(xp.asarray(CONV_X), xp.ones((1, 1, 2, 2), np.float32)),
         [[[[N, 1], [1, I]]]], lambda t: _F(t).conv2d(t.tensor(CONV_X), t.ones(1, 1, 2, 2))),
    Case("conv_transpose2d", lambda xp: ops.conv_transpose2d(xp.asarray(CONV_X[:, :, :2, :2]),
                                                             xp.ones((1, 1, 2, 2), np.float32)),
         [[[[N, N, 0], [N, N, 1], [0, 1, 1]]]],
         lambda t: _F(t).conv_transpose2d(t.tensor(CONV_X[:, :, :2, :2]), t.ones(1, 1, 2, 2))),
    Case("embedding", lambda xp: ops.embedding(xp.asarray([[N, 1], [I, -I]], np.float32), xp.asarray([1, 0])),
         [[I, -I], [N, 1]], lambda t: _F(t).embedding(t.tensor([1, 0]), t.tensor([[N, 1], [I, -I]]))),
    # ---- pooling: a NaN in a max-pool window wins; padding is -inf ---------------------------------
    Case("max_pool2d", lambda xp: ops.max_pool2d(xp.asarray(POOL), 2, 1), [[[[N, I], [3, I]]]],
         lambda t: _F(t).max_pool2d(t.tensor(POOL), 2, 1)),
    Case("max_pool2d_with_indices", lambda xp: ops.max_pool2d_with_indices(xp.asarray(POOL), 2, 1)[1],
         [[[[0, 5], [3, 5]]]], lambda t: _F(t).max_pool2d(t.tensor(POOL), 2, 1, return_indices=True)[1]),
    Case("max_pool2d (padding is -inf)", lambda xp: ops.max_pool2d(xp.full((1, 1, 2, 2), -I, np.float32), 2, 2, 1),
         [[[[-I, -I], [-I, -I]]]], lambda t: _F(t).max_pool2d(t.full((1, 1, 2, 2), -I), 2, 2, 1)),
    Case("avg_pool2d", lambda xp: ops.avg_pool2d(xp.asarray(POOL), 2, 1), [[[[N, N], [-I, N]]]],
         lambda t: _F(t).avg_pool2d(t.tensor(POOL), 2, 1)),
    Case("adaptive_avg_pool2d", lambda xp: ops.adaptive_avg_pool2d(xp.asarray(POOL[:, :, 1:, :2]), 1), [[[[-I]]]],
         lambda t: _F(t).adaptive_avg_pool2d(t.tensor(POOL[:, :, 1:, :2]), 1)),
    # ---- softmax: a row with NaN or +inf is NaN; -inf entries are 0; an all -inf row is NaN -----------
    Case("gram_matrix (NaN * 0 and inf * 0 are NaN, inf^2 is inf)", lambda xp: ops.gram_matrix(xp.asarray(GRAM_X)),
         [[[N, N, N], [N, I, N], [N, N, 4 / 6]]],
         lambda t: t.bmm(t.tensor(GRAM_X).reshape(1, 3, 2), t.tensor(GRAM_X).reshape(1, 3, 2).transpose(1, 2)) / 6),
    Case("softmax", lambda xp: ops.softmax(xp.asarray(SOFTMAX_ROWS)),
         [[N, N, N], [N, N, N], [0, 0.26894143, 0.7310586], [N, N, N], [N, N, N]],
         lambda t: t.softmax(t.tensor(SOFTMAX_ROWS), -1)),
    Case("log_softmax", lambda xp: ops.log_softmax(xp.asarray(SOFTMAX_ROWS)),
         [[N, N, N], [N, N, N], [-I, -1.3132616, -0.31326166], [N, N, N], [N, N, N]],
         lambda t: t.log_softmax(t.tensor(SOFTMAX_ROWS), -1)),
    # ---- losses (reduction='none') ---------------------------------------------------------------
    Case("cross_entropy", lambda xp: ops.cross_entropy(xp.asarray([[-I, 0, 1], [0, -I, 1], [N, 0, 1], [I, 0, 0]],
                                                                  np.float32), xp.asarray([1, 1, 2, 0]),
                                                       reduction="none"),
         [1.3132616, I, N, N],
         lambda t: _F(t).cross_entropy(t.tensor([[-I, 0, 1], [0, -I, 1], [N, 0, 1], [I, 0, 0]]),
                                       t.tensor([1, 1, 2, 0]), reduction="none")),
    Case("nll_loss", lambda xp: ops.nll_loss(xp.asarray([[-I, 0], [N, 0], [0, I]], np.float32), xp.asarray([0, 0, 1]),
                                             reduction="none"),
         [I, N, -I], lambda t: _F(t).nll_loss(t.tensor([[-I, 0], [N, 0], [0, I]]), t.tensor([0, 0, 1]),
                                             reduction="none")),
    Case("mse_loss", lambda xp: ops.mse_loss(xp.asarray(f32(N, I, 1, I)), xp.asarray(f32(0, I, -I, 0)),
                                             reduction="none"),
         [N, N, I, I], lambda t: _F(t).mse_loss(t.tensor(f32(N, I, 1, I)), t.tensor(f32(0, I, -I, 0)),
                                               reduction="none")),
    Case("smooth_l1_loss", lambda xp: ops.smooth_l1_loss(xp.asarray(f32(N, I, 1, I, -I)), xp.asarray(f32(0, I, -I, 0, 0)),
                                                         reduction="none"),
         [N, N, I, I, I], lambda t: _F(t).smooth_l1_loss(t.tensor(f32(N, I, 1, I, -I)), t.tensor(f32(0, I, -I, 0, 0)),
                                                         reduction="none")),
    Case("smooth_l1_loss_backward", lambda xp: ops.smooth_l1_loss_backward(
             xp.ones(5, np.float32), xp.asarray(f32(N, I, 1, I, -I)), xp.asarray(f32(0, I, -I, 0, 0)), reduction="none"),
         [N, N, 1, 1, -1], lambda t: _grad(t, lambda a: _F(t).smooth_l1_loss(a, t.tensor(f32(0, I, -I, 0, 0)),
                                                                             reduction="none"), f32(N, I, 1, I, -I))),
    Case("huber_loss", lambda xp: ops.huber_loss(xp.asarray(f32(N, I, 1, I, -I)), xp.asarray(f32(0, I, -I, 0, 0)),
                                                 reduction="none", delta=2.0),
         [N, N, I, I, I], lambda t: _F(t).huber_loss(t.tensor(f32(N, I, 1, I, -I)), t.tensor(f32(0, I, -I, 0, 0)),
                                                     reduction="none", delta=2.0)),
    Case("huber_loss_backward", lambda xp: ops.huber_loss_backward(
             xp.ones(5, np.float32), xp.asarray(f32(N, I, 1, I, -I)), xp.asarray(f32(0, I, -I, 0, 0)), reduction="none",
             delta=2.0),
         [N, N, 2, 2, -2], lambda t: _grad(t, lambda a: _F(t).huber_loss(a, t.tensor(f32(0, I, -I, 0, 0)),
                                                                         reduction="none", delta=2.0),
                                           f32(N, I, 1, I, -I))),
    Case("binary_cross_entropy (log clamped at -100)",
         lambda xp: ops.binary_cross_entropy(xp.asarray(f32(0, 1, 0.5)), xp.asarray(f32(1, 0, 1)), reduction="none"),
         [100, 100, 0.6931472], lambda t: _F(t).binary_cross_entropy(t.tensor(f32(0, 1, 0.5)), t.tensor(f32(1, 0, 1)),
                                                                    reduction="none")),
    Case("binary_cross_entropy (a NaN probability is refused, as out-of-range ones)",
         lambda xp: ops.binary_cross_entropy(xp.asarray(f32(N, 0.5)), xp.asarray(f32(1, 1)), reduction="none"),
         None, lambda t: _F(t).binary_cross_entropy(t.tensor(f32(N, 0.5)), t.tensor(f32(1, 1)), reduction="none"),
         raises=r"input must hold probabilities in \[0, 1\], got NaN",
         torch_raises="all elements of input should be between 0 and 1"),
    Case("binary_cross_entropy_with_logits",
         lambda xp: ops.binary_cross_entropy_with_logits(xp.asarray(f32(I, -I, N, I, -I)),
                                                         xp.asarray(f32(1, 1, 1, 0, 0)), reduction="none"),
         [N, N, N, I, N],  # (1 - t) * x + log(1 + exp(-x)) with x = ±inf: inf * 0
         lambda t: _F(t).binary_cross_entropy_with_logits(t.tensor(f32(I, -I, N, I, -I)), t.tensor(f32(1, 1, 1, 0, 0)),
                                                          reduction="none")),
    # ---- batch norm: a channel with a NaN or inf has NaN statistics --------------------------------
    Case("batch_norm (training)",
         lambda xp: ops.batch_norm(xp.asarray([[N, I, 1], [1, 1, 1], [2, 2, 2]], np.float32), None, None,
                                   training=True)[0],
         [[N, N, -0.7070909], [N, N, -0.7070909], [N, N, 1.4141817]],
         lambda t: _F(t).batch_norm(t.tensor([[N, I, 1], [1, 1, 1], [2, 2, 2]]), None, None, training=True)),
    Case("batch_norm (eval)",
         lambda xp: ops.batch_norm(xp.asarray([[N, I, 1]], np.float32), xp.zeros(3, np.float32),
                                   xp.ones(3, np.float32), eps=0.25)[0],
         [[N, I, 0.8944272]],
         lambda t: _F(t).batch_norm(t.tensor([[N, I, 1]]), t.zeros(3), t.ones(3), eps=0.25)),
    # ---- attention: a NaN query gives a NaN row; a fully masked row gives zeros ----------------------
    Case("scaled_dot_product_attention", lambda xp: ops.scaled_dot_product_attention(*map(xp.asarray, (ATT_Q, ATT_K, ATT_V))),
         [[[N, N], [3, 4]]],
         lambda t: _F(t).scaled_dot_product_attention(t.tensor(ATT_Q), t.tensor(ATT_K), t.tensor(ATT_V))),
    Case("scaled_dot_product_attention (all keys masked)",
         lambda xp: ops.scaled_dot_product_attention(*map(xp.asarray, (np.zeros_like(ATT_Q), ATT_K, ATT_V)),
                                                     mask=xp.asarray([[True, True, False, False], [False] * 4])),
         [[[1, 2], [0, 0]]],
         lambda t: _F(t).scaled_dot_product_attention(t.zeros(1, 2, 3), t.tensor(ATT_K), t.tensor(ATT_V),
                                                      attn_mask=t.tensor([[True, True, False, False], [False] * 4]))),
    # ---- recurrent cells: NaN inputs give NaN states; inf saturates the gates -------------------------
    Case("rnn_cell (tanh)", lambda xp: ops.rnn_cell(xp.asarray(RNN_X), xp.asarray(RNN_H), xp.asarray(RNN_W_IH(1)),
                                                    xp.asarray(RNN_W_HH(1))),
         [[N, N], [1, 1], [-1, -1]],
         lambda t: t.rnn_tanh_cell(t.tensor(RNN_X), t.tensor(RNN_H), t.tensor(RNN_W_IH(1)), t.tensor(RNN_W_HH(1)))),
    Case("rnn_cell (relu)", lambda xp: ops.rnn_cell(xp.asarray(RNN_X), xp.asarray(RNN_H), xp.asarray(RNN_W_IH(1)),
                                                    xp.asarray(RNN_W_HH(1)), nonlinearity="relu"),
         [[N, N], [I, I], [0, 0]],
         lambda t: t.rnn_relu_cell(t.tensor(RNN_X), t.tensor(RNN_H), t.tensor(RNN_W_IH(1)), t.tensor(RNN_W_HH(1)))),
    Case("gru_cell", lambda xp: ops.gru_cell(xp.asarray(RNN_X), xp.asarray(RNN_H), xp.asarray(RNN_W_IH(3)),
                                             xp.asarray(RNN_W_HH(3))),
         [[N, N], [0, 0], [-1, -1]],
         lambda t: t.gru_cell(t.tensor(RNN_X), t.tensor(RNN_H), t.tensor(RNN_W_IH(3)), t.tensor(RNN_W_HH(3)))),
    Case("lstm_cell", lambda xp: ops.lstm_cell(xp.asarray(RNN_X), xp.asarray(RNN_H), xp.asarray(RNN_H),
                                               xp.asarray(RNN_W_IH(4)), xp.asarray(RNN_W_HH(4)))[0],
         [[N, N], [0.7615942, 0.7615942], [0, 0]],
         lambda t: t.lstm_cell(t.tensor(RNN_X), (t.tensor(RNN_H), t.tensor(RNN_H)), t.tensor(RNN_W_IH(4)),
                               t.tensor(RNN_W_HH(4)))[0]),
    # ---- boxes ------------------------------------------------------------------------------------
    Case("box_iou (torchvision's formula)", lambda xp: ops.box_iou(xp.asarray(BOXES_A), xp.asarray(BOXES_B)),
         [[1, 1 / 7], [N, N], [0, 0], [0, 0]], lambda t: _torch_box_iou(t, BOXES_A, BOXES_B)),
    Case("nms (no PyTorch reference; deepkern: a NaN box suppresses nothing)",
         lambda xp: ops.nms(xp.asarray([[0, 0, 2, 2], [0, 0, N, 2], [0, 0, 2, 2]], np.float32),
                            xp.asarray(f32(0.5, 0.9, 0.4)), 0.5),
         [1, 0]),
    Case("nms (NaN scores: no order to visit the boxes in)",
         lambda xp: ops.nms(xp.asarray([[0, 0, 2, 2], [0, 0, 1, 2]], np.float32), xp.asarray(f32(N, 0.5)), 0.5),
         None, raises="nms: scores contain NaN"),
]

def _glove_nonfinite(xp):
    """glove.c's rule: a pair whose difference is not finite is skipped (counted), the others
    train. Zero weights, so diff = -log X: pair 0 meets a NaN in W[0], pair 1 has log X = -inf
    (a zero count), pair 2 is finite with cost f * diff^2 / 2 = 0.5."""
    W, Wc = xp.zeros((3, 2), np.float32), xp.zeros((3, 2), np.float32)
    W[0, 0] = N
    gW, gWc = xp.ones((3, 2), np.float32), xp.ones((3, 2), np.float32)
    b, bc, gb, gbc = (xp.full(3, v, np.float32) for v in (0, 0, 1, 1))
    cost, skipped = ops.glove_train(W, Wc, b, bc, gW, gWc, gb, gbc, xp.asarray([0, 1, 2], np.int32),
                                    xp.asarray([1, 2, 1], np.int32), xp.asarray(f32(0, -I, 1)), xp.ones(3, np.float32))
    return np.array([cost, skipped, float(xp.isfinite(W[1:]).all())])


def _word2vec_nonfinite(xp):
    """A NaN weight is never hidden: corpus [0, 1], syn0[0] holds a NaN; when word 1 is the center
    its context row syn0[0] makes the logits NaN, so the loss and word 1's output row are NaN."""
    syn0 = xp.full((2, 4), 0.1, np.float32)
    syn0[0, 0] = N
    syn1neg = xp.zeros((2, 4), np.float32)
    keep = xp.full(2, 1 << 32, np.int64)
    _, loss = ops.word2vec_train(syn0, syn1neg, None, xp.asarray([0, 1], np.int32), xp.asarray([0, 2], np.int64),
                                 keep, xp.asarray([1 << 32, 1 << 32], np.int64), xp.asarray([0, 1], np.int32),
                                 window=1, negative=1, compute_loss=True)
    return np.array([loss, float(xp.isnan(syn1neg[1]).all())])


PD_A = np.array([[N, 0], [I, 0], [0, 0]], np.float32)
PD_B = np.array([[0, 0], [0, 0], [3, 4]], np.float32)

CD_A = np.array([[0, 0], [I, 0], [N, 0]], np.float32)
CD_B = np.array([[3, 4], [0, I], [I, 0]], np.float32)
CL_X1 = np.array([[0, 0], [0, 0], [N, 0], [0, 0]], np.float32)
CL_X2 = np.array([[I, 0], [I, 0], [0, 0], [0.6, 0.8]], np.float32)
CL_T = f32(0, 1, 0, 0)
TM_DIST = np.array([[0, 1, I, I], [I, 0, 3, 4], [5, 6, 0, N], [2, 7, 1, 0]], np.float32)
TM_LABELS = np.array([0, 0, 1, 1])
BT_EMB = np.array([[0, 0], [1, 0], [0, 2], [1, 2], [I, 0]], np.float32)  # person 2 infinitely far
BT_LABELS = np.array([0, 0, 1, 1, 2])


def _torch_contrastive(torch, margin=2.0):
    """The usual PyTorch form: the same-pair term where target is 1, the hinge where it is 0."""
    d = _F(torch).pairwise_distance(torch.tensor(CL_X1), torch.tensor(CL_X2), eps=0)
    return 0.5 * torch.where(torch.tensor(CL_T) == 1, d ** 2, (margin - d).clamp(min=0) ** 2)


def _torch_masks(torch, labels):
    y = torch.tensor(labels)
    same = y[:, None] == y[None, :]
    return same & ~torch.eye(len(y), dtype=torch.bool), ~same


def _torch_batch_hard_rows(torch, margin=1.5):
    """The usual PyTorch batch hard: masked max over positives, masked min over negatives."""
    d = torch.tensor(TM_DIST)
    pos, neg = _torch_masks(torch, TM_LABELS)
    hardest_pos = torch.where(pos, d, -I).amax(1)
    hardest_neg = torch.where(neg, d, I).amin(1)
    return (margin + hardest_pos - hardest_neg).clamp(min=0)


def _torch_batch_all(torch, margin=2.5):
    """The usual PyTorch batch all: the (N, N, N) costs of the valid triplets, mean over the positive ones."""
    e = torch.tensor(BT_EMB)
    d = torch.cdist(e, e)
    pos, neg = _torch_masks(torch, BT_LABELS)
    cost = (margin + d[:, :, None] - d[:, None, :])[pos[:, :, None] & neg[:, None, :]].clamp(min=0)
    return cost.sum() / (cost > 0).sum().clamp(min=1)


CASES += [
    Case("cdist (inf - inf is NaN, an infinite difference is inf; any size, through the matrix product too)",
         lambda xp: ops.cdist(xp.asarray(CD_A), xp.asarray(CD_B)), [[5, I, I], [I, I, N], [N, N, N]],
         lambda t: t.cdist(t.tensor(CD_A), t.tensor(CD_B))),
    Case("contrastive_loss (a term its target switches off is 0: a different pair at infinite distance costs 0)",
         lambda xp: ops.contrastive_loss(xp.asarray(CL_X1), xp.asarray(CL_X2), xp.asarray(CL_T), 2.0,
                                         reduction="none"),
         [0, I, N, 0.5], _torch_contrastive),
    Case("triplet_mining (hard: an infinitely far negative costs 0, an infinitely far positive inf)",
         lambda xp: ops.triplet_mining(xp.asarray(TM_DIST), xp.asarray(TM_LABELS), 1.5, "hard")[0],
         [0, I, N, 0.5], _torch_batch_hard_rows),
    Case("batch_triplet_loss (all: triplets whose negative is infinitely far cost 0)",
         lambda xp: ops.batch_triplet_loss(xp.asarray(BT_EMB), xp.asarray(BT_LABELS), 2.5, "all"),
         1.3819660, _torch_batch_all),
    Case("pairwise_distance (eps is added to the difference, as PyTorch)",
         lambda xp: ops.pairwise_distance(xp.asarray(PD_A), xp.asarray(PD_B)), [N, I, 4.9999986],
         lambda t: _F(t).pairwise_distance(t.tensor(PD_A), t.tensor(PD_B)), atol=1e-5),
    Case("glove_train (no PyTorch reference; glove.c: non-finite pairs are skipped)", _glove_nonfinite, [0.5, 2, 1]),
    Case("word2vec_train (no PyTorch reference; NaN weights give NaN)", _word2vec_nonfinite, [N, 1]),
]

for _name, _dk, _torch in [
    _optim_case("sgd_step", lambda t, p: t.optim.SGD(p, lr=0.1),
                lambda p, g, s: ops.sgd_step(p, g, lr=0.1)),
    _optim_case("adam_step", lambda t, p: t.optim.Adam(p, lr=0.1),
                lambda p, g, s: ops.adam_step(p, g, s[0], s[1], step=1, lr=0.1)),
    _optim_case("rmsprop_step", lambda t, p: t.optim.RMSprop(p, lr=0.1),
                lambda p, g, s: ops.rmsprop_step(p, g, s[0], lr=0.1)),
]:
    CASES.append(Case(_name, _dk, {"sgd_step": [N, -I, I, 0.9], "adam_step": [N, N, N, 0.9],
                                   "rmsprop_step": [N, N, N, 0]}[_name], _torch, atol=1e-6))


def _first(result):
    return result[0] if isinstance(result, tuple) else result


def _assert_same(actual, expected, atol, what):
    actual = np.asarray(to_host(actual), dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    nan_a, nan_e = np.isnan(actual), np.isnan(expected)
    assert (nan_a == nan_e).all(), f"{what}: NaN where expected {expected}, got {actual}"
    inf = np.isinf(expected)
    assert (actual[inf] == expected[inf]).all(), f"{what}: infinities differ: expected {expected}, got {actual}"
    finite = ~nan_e & ~inf
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=1e-5, atol=atol, err_msg=what)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", CASES, ids=[c.name.split(" (")[0] + (f"[{c.name.split(' (')[1][:-1]}]" if " (" in c.name
                                                                      else "") for c in CASES])
def test_nonfinite_values_as_pytorch(case, device):
    with np.errstate(all="ignore"):
        if case.raises:
            with pytest.raises(ValueError, match=case.raises):
                case.dk(xp_for(device))
            return
        _assert_same(_first(case.dk(xp_for(device))), case.expected, case.atol, case.name)


@pytest.mark.parametrize("case", [c for c in CASES if c.torch is not None], ids=lambda c: c.name)
def test_the_table_is_what_pytorch_computes(case):
    """The expected values above are PyTorch's: recomputed with torch where it is installed."""
    torch = pytest.importorskip("torch")
    with np.errstate(all="ignore"):
        if case.torch_raises:
            with pytest.raises(RuntimeError, match=case.torch_raises):
                case.torch(torch)
            return
        result = case.torch(torch)
    _assert_same(result.detach().numpy(), case.expected, case.atol, f"torch {case.name}")


def test_every_op_has_a_case():
    """A new op joins the table (its backward functions are covered by their forward's case,
    the activation backward functions have their own)."""
    names = {c.name.split(" ")[0] for c in CASES}
    # the *_forward variants of a loss return its value plus what its backward needs
    forward_variants = ("cross_entropy_forward", "batch_triplet_loss_forward", "contrastive_loss_forward")
    public = {n for n in ops.__all__ if not n.endswith("_backward") and n not in forward_variants} \
        if hasattr(ops, "__all__") else {n for n in dir(ops) if not n.startswith("_") and callable(getattr(ops, n))
                                          and not n.endswith("_backward") and n not in forward_variants}
    # the cells' and nms's cases cover them; glove_cooccurrence takes integer ids only.
    skip = {"rnn_forward", "gru_forward", "lstm_forward", "batched_nms", "glove_cooccurrence"}
    assert public - skip - names == set()
