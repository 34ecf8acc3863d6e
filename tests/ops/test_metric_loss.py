import itertools

import numpy as np
import pytest
from hypothesis import given, strategies as st

import deepkern as dk
import deepkern.functional as F
import deepkern.nn as nn
from deepkern import ops, reference as ref
from tests.helpers import DEVICES, assert_matches_reference, gradcheck, to_host, xp_for

MINING = ["hard", "semihard", "all"]


# ---- the mining against its definitions, by brute force -----------------------------------
def brute_force_triplets(dist, labels, mining):
    """The triplets (a, p, n) each strategy names, by plain loops over every triplet."""
    N = len(labels)
    triplets = [(a, p, n) for a, p, n in itertools.product(range(N), repeat=3)
                if p != a and labels[p] == labels[a] and labels[n] != labels[a]]
    if mining == "all":
        return triplets
    picked = []
    for a in range(N):
        mine = [t for t in triplets if t[0] == a]
        if not mine:
            continue
        positives = sorted({p for _, p, _ in mine})
        negatives = sorted({n for _, _, n in mine})
        if mining == "hard":  # farthest positive, nearest negative, lowest index on ties
            p = max(positives, key=lambda j: (dist[a, j], -j))
            n = min(negatives, key=lambda j: (dist[a, j], j))
            picked.append((a, p, n))
        else:  # semihard: nearest negative beyond the positive, else the farthest negative
            for p in positives:
                beyond = [n for n in negatives if dist[a, n] > dist[a, p]]
                n = (min(beyond, key=lambda j: (dist[a, j], j)) if beyond
                     else max(negatives, key=lambda j: (dist[a, j], -j)))
                picked.append((a, p, n))
    return picked


def brute_force_loss(dist, labels, margin, mining):
    triplets = brute_force_triplets(dist, labels, mining)
    costs = [margin + dist[a, p] - dist[a, n] for a, p, n in triplets]
    active = [(t, c) for t, c in zip(triplets, costs) if c > 0]
    denom = len(active) if mining == "all" else len(triplets)  # 'all': the mean over the active ones
    grad = np.zeros_like(dist)
    for (a, p, n), _ in active:
        grad[a, p] += 1
        grad[a, n] -= 1
    return sum(c for _, c in active) / max(denom, 1), grad


@st.composite
def mining_problems(draw):
    """A distance matrix (not necessarily symmetric: the kernel mines rows), labels of 1..5
    identities with 1..4 samples each, a margin; quantized values make ties."""
    sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=5))
    labels = np.repeat(np.arange(len(sizes)) * 7 - 3, sizes)  # ids need not be 0..C-1
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    labels = labels[rng.permutation(len(labels))]
    N = len(labels)
    if draw(st.booleans()):
        dist = rng.integers(0, 4, (N, N)).astype(np.float64)  # many ties
    else:
        dist = rng.random((N, N)) * 2
    np.fill_diagonal(dist, 0)
    margin = draw(st.sampled_from([0.0, 0.3, 1.0, 2.5]))
    return dist, labels, margin


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mining", MINING)
@given(problem=mining_problems())
def test_mining_picks_exactly_the_defined_triplets(device, mining, problem):
    xp = xp_for(device)
    dist, labels, margin = problem
    expected_loss, expected_grad = brute_force_loss(dist, labels, margin, mining)
    row_loss, row_count = (to_host(v) for v in ops.triplet_mining(xp.asarray(dist), xp.asarray(labels), margin,
                                                                   mining))
    np.testing.assert_allclose(row_loss.sum() / max(row_count.sum(), 1), expected_loss, rtol=1e-12, atol=1e-12)
    # grad of the summed cost with scale 1: +1 at each active (a, p), -1 at each (a, n): the
    # exact multiset of picked triplets (sums of +-1 are exact)
    grad = to_host(ops.triplet_mining_backward(xp.asarray(np.ones(1)), xp.asarray(dist), xp.asarray(labels),
                                               margin, mining))
    np.testing.assert_array_equal(grad, expected_grad)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mining", MINING)
@given(problem=mining_problems(), scale=st.floats(0.1, 10))
def test_mining_matches_reference(device, dtype, mining, problem, scale):
    xp = xp_for(device)
    dist, labels, margin = problem
    dist = dist.astype(dtype)
    row_loss, row_count = ops.triplet_mining(xp.asarray(dist), xp.asarray(labels), margin, mining)
    r_loss, r_count = ref.triplet_mining(dist, labels, margin, mining)
    np.testing.assert_array_equal(to_host(row_count), r_count)
    assert_matches_reference(row_loss, lambda d: ref.triplet_mining(d, labels, margin, mining)[0], dist)
    s = np.array([scale], dtype)
    grad = ops.triplet_mining_backward(xp.asarray(s), xp.asarray(dist), xp.asarray(labels), margin, mining)
    assert_matches_reference(grad, lambda d, sc: ref.triplet_mining_backward(sc, d, labels, margin, mining), dist, s)


@st.composite
def embedding_batches(draw, dtype):
    identities = draw(st.integers(2, 5))
    per = draw(st.integers(2, 4))
    D = draw(st.integers(1, 33))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    labels = rng.permutation(np.repeat(np.arange(identities), per))
    centers = rng.standard_normal((identities, D)) * draw(st.sampled_from([0.5, 2.0]))
    emb = (centers[labels] + rng.standard_normal((len(labels), D)) * 0.5).astype(dtype)
    return emb, labels, draw(st.sampled_from([0.2, 1.0])), draw(st.booleans()), rng.standard_normal(()).astype(dtype)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mining", MINING)
@given(data=st.data())
def test_batch_triplet_loss_matches_reference(device, dtype, mining, data):
    xp = xp_for(device)
    emb, labels, margin, squared, g = data.draw(embedding_batches(dtype))
    loss, dist, count = ops.batch_triplet_loss_forward(xp.asarray(emb), xp.asarray(labels), margin, mining, squared)
    assert loss.shape == () and loss.dtype == dtype
    assert_matches_reference(loss, lambda e: ref.batch_triplet_loss(e, labels, margin, mining, squared), emb)
    _, r_dist, r_count = ref.batch_triplet_loss_forward(emb, labels, margin, mining, squared)
    assert int(to_host(count)) == int(r_count)
    d = to_host(dist)
    grad = ops.batch_triplet_loss_backward(xp.asarray(g), xp.asarray(emb), xp.asarray(labels), xp.asarray(d),
                                           count, margin, mining, squared)
    assert_matches_reference(
        grad, lambda gg, e, dd: ref.batch_triplet_loss_backward(gg, e, labels, dd, r_count, margin, mining, squared),
        g, emb, d)


@pytest.mark.parametrize("mining", MINING)
@pytest.mark.parametrize("squared", [False, True])
def test_batch_triplet_loss_gradcheck(mining, squared):
    rng = np.random.default_rng(10)
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    emb = rng.standard_normal((8, 5))
    gradcheck(lambda e: F.batch_triplet_loss(e, labels, margin=1.0, mining=mining, squared=squared), emb)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mining", MINING + ["random"])
def test_batch_triplet_loss_is_zero_when_the_margin_is_met(device, mining):
    """Identities in tight clusters 10 apart: every triplet meets a margin of 1, for every
    strategy: loss exactly 0 and a zero gradient (nothing to learn from easy triplets)."""
    xp = xp_for(device)
    rng = np.random.default_rng(11)
    labels = np.repeat(np.arange(4), 3)
    emb = np.eye(4)[labels] * 10 + rng.standard_normal((12, 4)) * 0.01
    e = dk.Tensor(xp.asarray(emb), requires_grad=True)
    loss = F.batch_triplet_loss(e, xp.asarray(labels), margin=1.0, mining=mining)
    assert float(to_host(loss.data)) == 0.0
    loss.backward()
    np.testing.assert_array_equal(to_host(e.grad.data), 0)
    # ... and a margin larger than the gap makes it positive again
    assert float(to_host(F.batch_triplet_loss(dk.Tensor(xp.asarray(emb)), xp.asarray(labels), margin=20.0,
                                              mining=mining).data)) > 0


def test_batch_hard_matches_a_pytorch_implementation():
    """Batch hard written in PyTorch the usual way (masks + max/min over torch.cdist), values
    and gradients."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    labels = np.repeat(np.arange(6), 4)
    emb = rng.standard_normal((24, 16))
    t = torch.tensor(emb, requires_grad=True)
    lt = torch.tensor(labels)
    d = torch.cdist(t, t, compute_mode="donot_use_mm_for_euclid_dist")
    same = lt[:, None] == lt[None, :]
    hardest_pos = torch.where(same & ~torch.eye(24, dtype=torch.bool), d, torch.zeros_like(d)).max(1).values
    hardest_neg = torch.where(~same, d, torch.full_like(d, float("inf"))).min(1).values
    torch.relu(0.5 + hardest_pos - hardest_neg).mean().backward()
    e = dk.Tensor(emb, requires_grad=True)
    loss = F.batch_triplet_loss(e, labels, margin=0.5, mining="hard")
    loss.backward()
    expected = torch.relu(0.5 + hardest_pos - hardest_neg).mean().item()
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-12)
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_random_mining_uses_valid_triplets_from_the_generator():
    rng = np.random.default_rng(13)
    labels = np.array([0, 0, 1, 1, 2, 2, 3])  # 3 has no positive: it anchors nothing
    emb = rng.standard_normal((7, 3))
    loss = F.batch_triplet_loss(dk.Tensor(emb), labels, margin=2.0, mining="random",
                                generator=np.random.default_rng(5))
    a, p, n = F.metric_loss._random_triplets(labels, np.random.default_rng(5))
    assert list(a) == [0, 1, 2, 3, 4, 5] and np.all(labels[p] == labels[a]) and np.all(p != a)
    assert np.all(labels[n] != labels[a])
    d = ref.cdist(emb, emb, 2.0, DIRECT_MODE)
    np.testing.assert_allclose(loss.item(), np.maximum(2.0 + d[a, p] - d[a, n], 0).mean(), rtol=1e-12)
    dk.manual_seed(3)
    first = F.batch_triplet_loss(dk.Tensor(emb), labels, mining="random", margin=2.0).item()
    dk.manual_seed(3)
    assert F.batch_triplet_loss(dk.Tensor(emb), labels, mining="random", margin=2.0).item() == first


DIRECT_MODE = "donot_use_mm_for_euclid_dist"


# ---- given triplets and pairs ------------------------------------------------------------------
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("p", [2.0, 1.0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_triplet_margin_loss_matches_torch(swap, p, reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(14)
    a, pos, neg = (rng.standard_normal((9, 6)) for _ in range(3))
    ta, tp, tn = (torch.tensor(v, requires_grad=True) for v in (a, pos, neg))
    expected = torch.nn.TripletMarginLoss(margin=1.5, p=p, swap=swap, reduction=reduction)(ta, tp, tn)
    expected.sum().backward()
    da, dp, dn = (dk.Tensor(v, requires_grad=True) for v in (a, pos, neg))
    loss = nn.TripletMarginLoss(margin=1.5, p=p, swap=swap, reduction=reduction)(da, dp, dn)
    loss.sum().backward()
    np.testing.assert_allclose(loss.data, expected.detach().numpy(), rtol=1e-12)
    for ours, theirs in [(da, ta), (dp, tp), (dn, tn)]:
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_triplet_margin_loss_definition_and_zero_when_met():
    rng = np.random.default_rng(15)
    a = rng.standard_normal((5, 3))
    pos, neg = a + 0.01, a + 5.0
    loss = F.triplet_margin_loss(dk.Tensor(a), dk.Tensor(pos), dk.Tensor(neg), margin=1.0, reduction="none")
    np.testing.assert_array_equal(loss.data, 0)
    loss = F.triplet_margin_loss(dk.Tensor(a), dk.Tensor(neg), dk.Tensor(pos), margin=1.0, reduction="none")
    d = lambda u, v: np.linalg.norm(u - v + 1e-6, axis=1)  # noqa: E731
    np.testing.assert_allclose(loss.data, np.maximum(1.0 + d(a, neg) - d(a, pos), 0), rtol=1e-12)
    gradcheck(lambda x, y, z: F.triplet_margin_loss(x, y, z, margin=3.0, swap=True), a, rng.standard_normal((5, 3)),
              rng.standard_normal((5, 3)))


@st.composite
def pair_problems(draw, dtype):
    n, m = draw(st.integers(0, 30)), draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    x1 = rng.standard_normal((n, m)).astype(dtype)
    x2 = (x1 + rng.standard_normal((n, m)) * draw(st.sampled_from([0.1, 1.0]))).astype(dtype)
    target = rng.integers(0, 2, n).astype(draw(st.sampled_from([np.int64, np.float32, bool])))
    margin = draw(st.sampled_from([0.5, 2.0, 10.0]))
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    g = rng.standard_normal((n,) if reduction == "none" else ()).astype(dtype)
    return x1, x2, target, margin, reduction, g


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_contrastive_loss_matches_reference(device, dtype, data):
    xp = xp_for(device)
    x1, x2, target, margin, reduction, g = data.draw(pair_problems(dtype))
    t = target.astype(dtype)
    loss, dist = ops.contrastive_loss_forward(xp.asarray(x1), xp.asarray(x2), xp.asarray(target), margin, reduction)
    if x1.shape[0] or reduction != "mean":
        assert_matches_reference((loss, dist), lambda a, b: ref.contrastive_loss_forward(a, b, t, margin, reduction),
                                 x1, x2)
    d = to_host(dist)
    grads = ops.contrastive_loss_backward(xp.asarray(g), xp.asarray(x1), xp.asarray(x2), xp.asarray(target),
                                          xp.asarray(d), margin, reduction)
    assert_matches_reference(tuple(grads), lambda gg, a, b, dd: ref.contrastive_loss_backward(
        gg, a, b, t, dd, margin, reduction), g, x1, x2, d)


def test_contrastive_loss_definition_gradcheck_and_zero_when_met():
    rng = np.random.default_rng(16)
    x1 = rng.standard_normal((6, 4))
    x2 = rng.standard_normal((6, 4))
    t = np.array([1, 0, 1, 0, 0, 1])
    d = np.linalg.norm(x1 - x2, axis=1)
    expected = 0.5 * (t * d ** 2 + (1 - t) * np.maximum(2.0 - d, 0) ** 2)
    loss = nn.ContrastiveLoss(margin=2.0, reduction="none")(dk.Tensor(x1), dk.Tensor(x2), t)
    np.testing.assert_allclose(loss.data, expected, rtol=1e-12)
    gradcheck(lambda a, b: F.contrastive_loss(a, b, t, margin=2.0), x1, x2)
    # matching pairs identical, non-matching pairs beyond the margin: 0 and no gradient
    far = x1 + 100.0
    y = dk.Tensor(np.where(t[:, None] == 1, x1, far), requires_grad=True)
    loss = F.contrastive_loss(dk.Tensor(x1), y, t, margin=2.0)
    loss.backward()
    assert loss.item() == 0.0 and np.all(y.grad.numpy() == 0)


@pytest.mark.parametrize("device", DEVICES)
def test_contrastive_loss_at_infinite_and_nan_distance(device):
    """A different pair at infinite distance costs 0 with a zero gradient (not 0 * inf = NaN), a
    same pair at infinite distance costs inf, a NaN gives NaN; a finite pair beside them is exact."""
    xp = xp_for(device)
    inf, nan = np.inf, np.nan
    x1 = np.zeros((4, 2), np.float32)
    x1[2, 0] = nan
    x2 = np.array([[inf, 0], [inf, 0], [0, 0], [0.6, 0.8]], np.float32)
    t = np.array([0, 1, 0, 0], np.float32)
    rows, dist = ops.contrastive_loss_forward(xp.asarray(x1), xp.asarray(x2), xp.asarray(t), 2.0, reduction="none")
    np.testing.assert_allclose(to_host(rows), [0, inf, nan, 0.5], rtol=1e-6)
    g1, g2 = ops.contrastive_loss_backward(xp.ones(4, np.float32), xp.asarray(x1), xp.asarray(x2), xp.asarray(t),
                                           dist, 2.0, reduction="none")
    expected = np.array([[0, 0], [-inf, 0], [nan, nan], [0.6, 0.8]], np.float32)
    np.testing.assert_allclose(to_host(g1), expected, rtol=1e-6)
    np.testing.assert_allclose(to_host(g2), -expected, rtol=1e-6)
    with np.errstate(all="ignore"):
        r_rows, r_dist = ref.contrastive_loss_forward(x1, x2, t, 2.0, reduction="none")
        np.testing.assert_allclose(r_rows, to_host(rows), rtol=1e-6)
        np.testing.assert_allclose(ref.contrastive_loss_backward(np.ones(4, np.float32), x1, x2, t, r_dist, 2.0,
                                                                 reduction="none")[0], expected, rtol=1e-6)


# ---- bad input -----------------------------------------------------------------------------------
def test_batch_triplet_loss_errors_are_clear():
    e = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match=r"batch_triplet_loss: every sample in the batch has label 7: a triplet "
                                         r"needs a negative, so a batch needs at least two identities"):
        ops.batch_triplet_loss(e, np.full(4, 7))
    with pytest.raises(ValueError, match=r"batch_triplet_loss: labels must have shape \(4,\), one identity per "
                                         r"embedding \(embeddings.shape=\(4, 3\)\), got \(5,\)"):
        ops.batch_triplet_loss(e, np.arange(5))
    with pytest.raises(ValueError, match=r"batch_triplet_loss: no two samples in the batch share a label \(4 "
                                         r"identities, one sample each\)"):
        ops.batch_triplet_loss(e, np.arange(4))
    with pytest.raises(ValueError, match=r"batch_triplet_loss: the batch is empty"):
        ops.batch_triplet_loss(np.zeros((0, 3), np.float32), np.zeros(0, np.int64))
    with pytest.raises(TypeError, match=r"batch_triplet_loss: labels must be an integer array, got float64"):
        ops.batch_triplet_loss(e, np.zeros(4))
    with pytest.raises(ValueError, match=r"batch_triplet_loss: embeddings must be 2-D \(N, D\), got shape \(4, 3, 1\)"):
        ops.batch_triplet_loss(e[..., None], np.arange(4))
    with pytest.raises(ValueError, match=r"batch_triplet_loss: mining must be one of 'all', 'hard', 'semihard', got 'easy'"):
        ops.batch_triplet_loss(e, np.array([0, 0, 1, 1]), mining="easy")
    with pytest.raises(ValueError, match=r"batch_triplet_loss: margin must be in \[0.0, None\], got -1.0"):
        ops.batch_triplet_loss(e, np.array([0, 0, 1, 1]), margin=-1)
    with pytest.raises(ValueError, match=r"BatchTripletLoss: batch_triplet_loss: every sample in the batch has label 0"):
        nn.BatchTripletLoss()(dk.Tensor(e), np.zeros(4, np.int64))
    with pytest.raises(ValueError, match=r"BatchTripletLoss: mining must be one of 'random', 'all', 'hard', 'semihard'"):
        nn.BatchTripletLoss(mining="easy")
    with pytest.raises(ValueError, match=r"BatchTripletLoss: batch_triplet_loss: labels must have shape \(4,\)"):
        nn.BatchTripletLoss(mining="random")(dk.Tensor(e), np.arange(3))
    with pytest.raises(ValueError, match=r"triplet_mining: dist must be a square \(N, N\) distance matrix"):
        ops.triplet_mining(np.zeros((3, 4)), np.arange(3))


def test_pair_and_triplet_errors_are_clear():
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"contrastive_loss: target must have shape \(4,\), one per pair"):
        ops.contrastive_loss(x, x, np.zeros(3))
    with pytest.raises(ValueError, match=r"contrastive_loss: x1 and x2 must be \(N, D\) embeddings of one shape, got "
                                         r"\(4, 3\) and \(4, 2\)"):
        ops.contrastive_loss(x, np.zeros((4, 2)), np.zeros(4))
    with pytest.raises(TypeError, match=r"contrastive_loss: target must be a NumPy array like x1"):
        ops.contrastive_loss(x, x, [1, 0, 1, 0])
    with pytest.raises(ValueError, match=r"TripletMarginLoss: triplet_margin_loss: anchor, positive and negative must "
                                         r"all be \(N, D\) or all \(D,\)"):
        nn.TripletMarginLoss()(dk.Tensor(x), dk.Tensor(x), dk.Tensor(x[0]))


def test_cpu_extension_checks_sizes_itself():
    d = np.zeros((4, 4))
    with pytest.raises(ValueError, match=r"triplet_mining_forward: labels must have shape \(4,\), got \(3,\)"):
        dk._cpu.triplet_mining_forward(d, np.zeros(3, np.int64), np.zeros(4), np.zeros(4, np.int64), 1.0, "hard")
    with pytest.raises(ValueError, match=r"triplet_mining_forward: unknown mining 'easy'"):
        dk._cpu.triplet_mining_forward(d, np.zeros(4, np.int64), np.zeros(4), np.zeros(4, np.int64), 1.0, "easy")
    with pytest.raises(ValueError, match=r"triplet_mining_backward: scale must have 1 elements"):
        dk._cpu.triplet_mining_backward(d, np.zeros(4, np.int64), np.zeros(2), np.zeros((4, 4)), 1.0, "all")
    with pytest.raises(ValueError, match=r"contrastive_loss_backward: grad_out must have shape \(4,\), got \(3,\)"):
        x = np.zeros((4, 2))
        dk._cpu.contrastive_loss_backward(np.zeros(3), x, x, np.zeros(4), np.zeros(4), np.zeros((4, 2)), 1.0)
