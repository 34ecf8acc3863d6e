"""Training-step benchmark cases: one forward + backward + Adam step of a whole model, deepkern
beside the same architecture in PyTorch, on the same batch.

- LeNet-5 at batch 64 on 1x28x28 (MNIST's size: what ``deepkern train lenet`` runs), 10 classes.
- ResNet-18 at batch 8 on 3x64x64, 10 classes.
- The character language model of ``deepkern train charlm``: Embedding(65, 64) -> 2-layer LSTM
  (256 hidden) -> Linear(256, 65), batch 32 x 64 steps, gradient clipping at norm 5.
- The date-normalization seq2seq of ``deepkern train dates``: bidirectional GRU encoder (hidden
  64, embedding 32), additive attention, GRUCell decoder; batch 64, 24 source and 11 target
  steps, gradient clipping at norm 5.

PyTorch's models are written out here (torchvision is not a dependency) with the same layers;
setup checks that both have the same number of parameters. There is no NumPy reference for a
whole step (the op families' cases time the references op by op). Nothing is preallocated: the
autograd engines allocate every activation and gradient. ``flops`` is 3x the forward pass's
multiply-adds x 2 (forward, grad-input, grad-weight), counted from the architectures:
LeNet-5 416,520 MACs per 28x28 image; ResNet-18 148,050,944 MACs per 64x64 image; the LSTM
language model 868,608 MACs per token; the seq2seq model the GEMMs counted in SEQ2SEQ_MACS.
"""
from __future__ import annotations

from . import Case

# conv1 (padding 2) + conv2 + the three fully connected layers
LENET_MACS = 6 * 25 * 28 * 28 + 16 * 150 * 10 * 10 + 400 * 120 + 120 * 84 + 84 * 10
# stem conv at 32x32 + layer1 (4 convs 64->64 at 16x16) + layer2..4: each a strided conv, three
# 3x3 convs and a 1x1 downsample; halving the map and doubling the channels keeps each stage's MACs
RESNET18_64_MACS = (64 * 3 * 49 * 32 * 32 + 4 * 64 * 64 * 9 * 16 * 16
                    + sum(4_718_592 + 3 * 9_437_184 + 524_288 for _ in range(3)) + 512 * 10)


# LSTM LM: layer 1 4H(E + H), layer 2 4H(2H), head H*V per token
CHARLM = dict(vocab=65, embedding=64, hidden=256, layers=2, batch=32, steps=64)
CHARLM_MACS = (4 * 256 * (64 + 256) + 4 * 256 * 512 + 256 * 65)
# dates seq2seq (hidden 64, embedding 32, attention 64, target vocabulary 15): per source step the
# two encoder directions 2*3H(E+H) and the key projection 2H*A; per target step the decoder cell
# 3H(E+2H+H), the query H*A, the scores and context Tx*(A + 2H) and the output 3H*V
DATES = dict(batch=64, src_len=24, tgt_len=11, embedding=32, hidden=64)
SEQ2SEQ_MACS = (24 * (2 * 3 * 64 * (32 + 64) + 128 * 64)
                + 11 * (3 * 64 * (32 + 128 + 64) + 64 * 64 + 24 * (64 + 128) + 192 * 15))


def _torch_charlm(torch):
    nn = torch.nn

    class CharLM(nn.Module):
        def __init__(self):
            super().__init__()
            c = CHARLM
            self.embedding = nn.Embedding(c["vocab"], c["embedding"])
            self.rnn = nn.LSTM(c["embedding"], c["hidden"], c["layers"], batch_first=True)
            self.head = nn.Linear(c["hidden"], c["vocab"])

        def forward(self, ids):
            return self.head(self.rnn(self.embedding(ids))[0])

    return CharLM()


def _torch_seq2seq(torch, src_vocab, tgt_vocab):
    """deepkern.models.Seq2Seq (GRU, additive attention) in PyTorch, every source row full length."""
    nn = torch.nn
    E, H = DATES["embedding"], DATES["hidden"]

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.src_embed, self.tgt_embed = nn.Embedding(src_vocab, E), nn.Embedding(tgt_vocab, E)
            self.encoder = nn.GRU(E, H, batch_first=True, bidirectional=True)
            self.decoder = nn.GRUCell(E + 2 * H, H)
            self.bridge = nn.Linear(2 * H, H)
            self.attn_query = nn.Linear(H, H, bias=False)
            self.attn_key = nn.Linear(2 * H, H)
            self.attn_score = nn.Linear(H, 1, bias=False)
            self.out = nn.Linear(3 * H, tgt_vocab)

        def forward(self, src, tgt_in):
            a, h_n = self.encoder(self.src_embed(src))
            s = torch.tanh(self.bridge(torch.cat([h_n[0], h_n[1]], 1)))
            keys, outs = self.attn_key(a), []
            for t in range(tgt_in.shape[1]):
                e = self.attn_score(torch.tanh(keys + self.attn_query(s)[:, None])).squeeze(2)
                context = (torch.softmax(e, -1)[:, :, None] * a).sum(1)
                s = self.decoder(torch.cat([self.tgt_embed(tgt_in[:, t]), context], 1), s)
                outs.append(self.out(torch.cat([s, context], 1)))
            return torch.stack(outs, 1)

    return Seq2Seq()


def _torch_lenet(torch):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def _torch_resnet18(torch, classes):
    nn = torch.nn

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(out + (x if self.downsample is None else self.downsample(x)))

    blocks, cin = [], 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        blocks += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
        cin = cout
    return nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                         nn.MaxPool2d(3, 2, 1), *blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(512, classes))


def same_size(family, op, model, tmodel):
    """The two implementations must time the same network: equal parameter counts."""
    n_torch = sum(p.numel() for p in tmodel.parameters())
    if n_torch != model.num_parameters():
        raise RuntimeError(f"bench {family}: {op} has {model.num_parameters()} parameters in deepkern but "
                           f"{n_torch} in PyTorch")


def _step_case(op, shape, batch, macs, build_deepkern, build_torch):
    def setup(ctx):
        import deepkern as dk
        from .. import functional as F
        from .. import optim

        x = ctx.randn(*shape)
        y = ctx.xp.asarray(ctx.rng.integers(0, 10, shape[0]))
        dk.manual_seed(ctx.seed)
        model = build_deepkern().to(ctx.device)
        opt = optim.Adam(model.parameters(), lr=1e-3)

        def deepkern():
            loss = F.cross_entropy(model(dk.Tensor(x)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

        fns = {"deepkern": deepkern}
        if ctx.torch is not None:
            torch = ctx.torch
            torch.manual_seed(ctx.seed)
            tmodel = build_torch(torch).to(ctx.device)
            same_size("train", op, model, tmodel)
            topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)
            tx, ty = ctx.tensor(x), ctx.tensor(y)

            def torch_step():
                loss = torch.nn.functional.cross_entropy(tmodel(tx), ty)
                topt.zero_grad()
                loss.backward()
                topt.step()

            fns["torch"] = torch_step
        return fns

    return Case("train", op, f"b{batch},{'x'.join(map(str, shape[1:]))}", setup, flops=3 * 2 * macs * batch)


def _sequence_case(op, shape, macs, build_deepkern, build_torch, make_batch, dk_loss, torch_loss):
    """A training step with gradient clipping (norm 5, as the train tasks) on integer batches."""
    def setup(ctx):
        import deepkern as dk
        from .. import optim

        batch = make_batch(ctx.rng)
        dk.manual_seed(ctx.seed)
        model = build_deepkern().to(ctx.device)
        opt = optim.Adam(model.parameters(), lr=1e-3)

        def deepkern():
            loss = dk_loss(model, *batch)
            opt.zero_grad()
            loss.backward()
            dk.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()

        fns = {"deepkern": deepkern}
        if ctx.torch is not None:
            torch = ctx.torch
            torch.manual_seed(ctx.seed)
            tmodel = build_torch(torch).to(ctx.device)
            same_size("train", op, model, tmodel)
            topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)
            tbatch = [ctx.tensor(a) for a in batch]

            def torch_step():
                loss = torch_loss(torch, tmodel, *tbatch)
                topt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(tmodel.parameters(), 5.0)
                topt.step()

            fns["torch"] = torch_step
        return fns

    return Case("train", op, shape, setup, flops=3 * 2 * macs)


def _charlm_case():
    from ..models import CharRNN
    from .. import functional as F
    c = CHARLM
    B, T, V = c["batch"], c["steps"], c["vocab"]

    def make_batch(rng):
        ids = rng.integers(0, V, (B, T + 1))
        return ids[:, :-1].copy(), ids[:, 1:].copy()

    def dk_loss(model, x, y):
        logits = model(x)[0]
        return F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))

    def torch_loss(torch, model, x, y):
        return torch.nn.functional.cross_entropy(model(x).reshape(-1, V), y.reshape(-1))

    return _sequence_case("charlm_lstm_adam_step", f"b{B},T={T},H={c['hidden']}x{c['layers']},V={V}",
                          CHARLM_MACS * B * T,
                          lambda: CharRNN(V, c["hidden"], c["layers"], cell="lstm", embedding_dim=c["embedding"]),
                          _torch_charlm, make_batch, dk_loss, torch_loss)


def _dates_case():
    from ..models.seq2seq import Seq2Seq
    from ..train.tasks.dates import vocabularies
    src_vocab, tgt_vocab = vocabularies()
    d = DATES
    B, Tx, Ty = d["batch"], d["src_len"], d["tgt_len"]
    nsrc, ntgt = len(src_vocab), len(tgt_vocab)

    def make_batch(rng):
        return (rng.integers(4, nsrc, (B, Tx)), rng.integers(4, ntgt, (B, Ty)), rng.integers(4, ntgt, (B, Ty)))

    def dk_loss(model, src, tgt_in, tgt_out):
        return model.loss(src, tgt_in, tgt_out)

    def torch_loss(torch, model, src, tgt_in, tgt_out):
        logits = model(src, tgt_in)
        return torch.nn.functional.cross_entropy(logits.reshape(-1, ntgt), tgt_out.reshape(-1), ignore_index=0)

    return _sequence_case("dates_seq2seq_adam_step", f"b{B},Tx={Tx},Ty={Ty},H={d['hidden']}", SEQ2SEQ_MACS * B,
                          lambda: Seq2Seq(nsrc, ntgt, d["embedding"], d["hidden"], pad_id=src_vocab.PAD,
                                          bos_id=tgt_vocab.BOS, eos_id=tgt_vocab.EOS),
                          lambda torch: _torch_seq2seq(torch, nsrc, ntgt), make_batch, dk_loss, torch_loss)


def cases():
    from ..models import LeNet, resnet18
    return [
        _step_case("lenet5_adam_step", (64, 1, 28, 28), 64, LENET_MACS, LeNet, _torch_lenet),
        _step_case("resnet18_adam_step", (8, 3, 64, 64), 8, RESNET18_64_MACS,
                   lambda: resnet18(num_classes=10), lambda torch: _torch_resnet18(torch, 10)),
        _charlm_case(),
        _dates_case(),
    ]
