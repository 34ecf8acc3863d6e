"""Sequence-to-sequence with attention, as in the course (Bahdanau et al. 2015; Luong et al. 2015).

Encoder: embedding -> bidirectional GRU or LSTM over the source, a⟨t'⟩ = [→a⟨t'⟩; ←a⟨t'⟩]
(B, Tx, 2H). Decoder, one step t (teacher-forced during training):

    α⟨t,t'⟩ = softmax_t'( e⟨t,t'⟩ )             over the source steps, padded steps masked out
    context⟨t⟩ = Σ_t' α⟨t,t'⟩ a⟨t'⟩               (B, 2H)
    s⟨t⟩ = cell([embed(y⟨t-1⟩); context⟨t⟩], s⟨t-1⟩)
    logits⟨t⟩ = W [s⟨t⟩; context⟨t⟩] + b          (B, V_tgt)

Scores e⟨t,t'⟩: ``attention="additive"`` (Bahdanau, the course's "Dense-tanh-Dense" network)
e = vᵀ tanh(W_s s⟨t-1⟩ + W_a a⟨t'⟩), or ``attention="dot"`` (Luong's "general" score)
e = s⟨t-1⟩ · W a⟨t'⟩, computed with the fused kernel deepkern.functional.scaled_dot_product_attention
(scale 1). s⟨0⟩ = tanh(W_0 [→a⟨Tx⟩; ←a⟨1⟩]), from the encoder's final states.

Token ids: ``pad_id`` pads both sides; the target input starts with ``bos_id``; outputs end with
``eos_id``. Shapes are batch-first: src (B, Tx), tgt (B, Ty).
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import ops
from .._backend import array_module
from ..autograd import Tensor, no_grad
from ..nn import Embedding, Linear, Module
from ..nn.rnn import GRU, LSTM, GRUCell, LSTMCell
from ..text.search import beam_search, greedy_search

__all__ = ["Seq2Seq"]


class Seq2Seq(Module):
    """Attention encoder-decoder. forward(src, tgt_in, src_lengths=None) -> logits (B, Ty, V_tgt)."""

    def __init__(self, src_vocab, tgt_vocab, embed_size=32, hidden_size=64, attention="additive", rnn="gru",
                 attention_size=None, pad_id=0, bos_id=2, eos_id=3, dtype=None):
        super().__init__()
        if attention not in ("additive", "dot"):
            raise ValueError(f"Seq2Seq: attention must be 'additive' or 'dot', got {attention!r}")
        if rnn not in ("gru", "lstm"):
            raise ValueError(f"Seq2Seq: rnn must be 'gru' or 'lstm', got {rnn!r}")
        self.attention, self.rnn = attention, rnn
        self.pad_id, self.bos_id, self.eos_id = int(pad_id), int(bos_id), int(eos_id)
        self.hidden_size = H = int(hidden_size)
        A = int(attention_size or H)
        self.src_embed = Embedding(src_vocab, embed_size, dtype=dtype)
        self.tgt_embed = Embedding(tgt_vocab, embed_size, dtype=dtype)
        enc = GRU if rnn == "gru" else LSTM
        self.encoder = enc(embed_size, H, batch_first=True, bidirectional=True, dtype=dtype)
        cell = GRUCell if rnn == "gru" else LSTMCell
        self.decoder = cell(embed_size + 2 * H, H, dtype=dtype)
        self.bridge = Linear(2 * H, H, dtype=dtype)
        if attention == "additive":
            self.attn_query = Linear(H, A, bias=False, dtype=dtype)
            self.attn_key = Linear(2 * H, A, dtype=dtype)
            self.attn_score = Linear(A, 1, bias=False, dtype=dtype)
        else:
            self.attn_key = Linear(2 * H, H, bias=False, dtype=dtype)
        self.out = Linear(H + 2 * H, tgt_vocab, dtype=dtype)

    # ---- encoder ---------------------------------------------------------------------------
    def encode(self, src, src_lengths=None):
        """src (B, Tx) ids -> memory (a (B, Tx, 2H), projected keys, mask (B, Tx) bool) and s⟨0⟩."""
        src = np.asarray(src, dtype=np.int64)
        B, Tx = src.shape
        lengths = (np.full(B, Tx, dtype=np.int64) if src_lengths is None
                   else np.asarray(src_lengths, dtype=np.int64))
        a, h = self.encoder(self.src_embed(src), lengths=lengths)
        h_n = h[0] if self.rnn == "lstm" else h            # (2, B, H): forward final, backward final
        s0 = F.tanh(self.bridge(F.cat([h_n[0], h_n[1]], axis=1)))
        state = (s0, s0 * 0.0) if self.rnn == "lstm" else (s0,)
        mask = np.arange(Tx)[None, :] < lengths[:, None]
        return (a, self.attn_key(a), mask), state

    # ---- attention -------------------------------------------------------------------------
    def attend(self, s, memory, weights=False):
        """Context (B, 2H) for decoder state s (B, H); with ``weights`` also α (B, Tx) as an array."""
        a, keys, mask = memory
        if self.attention == "additive":
            e = self.attn_score(F.tanh(keys + F.unsqueeze(self.attn_query(s), 1)))      # (B, Tx, 1)
            e = F.squeeze(e, 2) + np.where(mask, 0.0, -np.inf).astype(e.dtype)
            alpha = F.softmax(e, axis=-1)
            context = F.sum(F.unsqueeze(alpha, 2) * a, axis=1)
            return (context, alpha.data) if weights else context
        q = F.unsqueeze(s, 1)                                                             # (B, 1, H)
        m = mask[:, None, :]
        context = F.squeeze(F.scaled_dot_product_attention(q, keys, a, mask=m, scale=1.0), 1)
        if not weights:
            return context
        eye = np.broadcast_to(np.eye(a.shape[1], dtype=a.dtype), (a.shape[0], a.shape[1], a.shape[1]))
        alpha = ops.scaled_dot_product_attention(q.data, keys.data, np.ascontiguousarray(eye), mask=m, scale=1.0)
        return context, alpha[:, 0]   # softmax(q kᵀ) @ I = α, from the same kernel

    # ---- decoder ---------------------------------------------------------------------------
    def decode_step(self, y_prev, state, memory, weights=False):
        """One decoder step: y_prev (B,) ids -> (logits (B, V), new state[, α (B, Tx)])."""
        s = state[0]
        attended = self.attend(s, memory, weights)
        context, alpha = attended if weights else (attended, None)
        x = F.cat([self.tgt_embed(np.asarray(y_prev, dtype=np.int64)), context], axis=1)
        if self.rnn == "lstm":
            h, c = self.decoder(x, state)
            new = (h, c)
        else:
            h = self.decoder(x, s)
            new = (h,)
        logits = self.out(F.cat([h, context], axis=1))
        return (logits, new, alpha) if weights else (logits, new)

    def forward(self, src, tgt_in, src_lengths=None):
        """Teacher forcing: src (B, Tx), tgt_in (B, Ty) starting with bos -> logits (B, Ty, V)."""
        memory, state = self.encode(src, src_lengths)
        tgt_in = np.asarray(tgt_in, dtype=np.int64)
        outs = []
        for t in range(tgt_in.shape[1]):
            logits, state = self.decode_step(tgt_in[:, t], state, memory)
            outs.append(logits)
        return F.stack(outs, axis=1)

    def loss(self, src, tgt_in, tgt_out, src_lengths=None):
        """Mean cross-entropy over the non-padding target tokens."""
        logits = self(src, tgt_in, src_lengths)
        V = logits.shape[-1]
        return F.cross_entropy(logits.reshape(-1, V), np.asarray(tgt_out, dtype=np.int64).reshape(-1),
                               ignore_index=self.pad_id)

    # ---- inference -------------------------------------------------------------------------
    def _step_fn(self):
        """The search's step(tokens, state): state = (decoder state tuple, memory tuple)."""
        def step(tokens, st):
            dec, memory = st
            logits, dec = self.decode_step(tokens, dec, memory)
            return F.log_softmax(logits, axis=-1).numpy(), (dec, memory)
        return step

    def translate(self, src, src_lengths=None, beam_width=1, max_len=50, alpha=0.7):
        """Output id lists (without bos/eos) for each source row; beam_width 1 is greedy."""
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                memory, state = self.encode(src, src_lengths)
                B = len(memory[2])
                if beam_width == 1:
                    seqs = greedy_search(self._step_fn(), (state, memory), B, self.bos_id, self.eos_id, max_len)
                else:
                    res = beam_search(self._step_fn(), (state, memory), B, self.bos_id, self.eos_id,
                                      beam_width=beam_width, max_len=max_len, alpha=alpha)
                    seqs = [r[0].tokens for r in res]
        finally:
            self.train(was_training)
        return [[t for t in s if t != self.eos_id] for s in seqs]

    def attention_weights(self, src, out_tokens):
        """α (Ty, Tx) of one source sentence (Tx,) while decoding the given output ids (Ty,),
        teacher-forced from bos: row t is where the decoder looked to produce out_tokens[t]."""
        with no_grad():
            memory, state = self.encode(np.asarray(src, dtype=np.int64)[None])
            y, rows = self.bos_id, []
            for tok in out_tokens:
                _, state, alpha = self.decode_step(np.array([y]), state, memory, weights=True)
                rows.append(np.asarray(alpha[0]))
                y = tok
        return np.stack(rows) if rows else np.zeros((0, len(src)))


def plot_attention(weights, src_labels, tgt_labels, path, title=None):
    """Save α (Ty, Tx) as a heat-map PNG (matplotlib needed: pip install matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise RuntimeError("plot_attention needs matplotlib: pip install matplotlib "
                           "(or pip install 'deepkern[plot]')") from e
    w = np.asarray(weights)
    fig, ax = plt.subplots(figsize=(max(4, 0.35 * w.shape[1] + 1), max(3, 0.35 * w.shape[0] + 1)))
    ax.imshow(w, cmap="viridis", vmin=0, vmax=max(float(w.max(initial=0)), 1e-9), aspect="auto")
    ax.set_xticks(range(len(src_labels)), labels=list(src_labels), rotation=90)
    ax.set_yticks(range(len(tgt_labels)), labels=list(tgt_labels))
    ax.set_xlabel("input")
    ax.set_ylabel("output")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
