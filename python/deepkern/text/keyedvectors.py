"""KeyedVectors: word vectors with gensim's query, evaluation and file-format API.

    kv = model.wv                                  # or KeyedVectors.load_word2vec_format(path)
    kv["king"]                                     # (D,) float32
    kv.most_similar(positive=["king", "woman"], negative=["man"], topn=5)   # 3CosAdd
    kv.most_similar_cosmul(positive=["king", "woman"], negative=["man"])    # 3CosMul
    kv.similarity("cat", "dog"), kv.doesnt_match(["cat", "dog", "car"])
    score, sections = kv.evaluate_word_analogies("questions-words.txt")
    pearson, spearman, oov_ratio = kv.evaluate_word_pairs("wordsim353.tsv")
    kv.save_word2vec_format("vectors.bin", binary=True)

Names, arguments and results follow gensim.models.KeyedVectors, so code written against gensim
runs unchanged; unknown words raise KeyError as there. The similarity queries run on
deepkern's GEMM over the unit-normalized vectors; the analogy evaluation answers its questions
in batches of one GEMM each instead of one query at a time.
"""
from __future__ import annotations

import math
import os

import numpy as np

from .. import ops
from ..serialization import load as _dk_load, save as _dk_save
from .corpora import open_text

__all__ = ["KeyedVectors"]

_QUERY_BATCH = 1024  # analogy questions scored per GEMM: (batch, V) float32 scores


def _unit_rows(x):
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norms > 0, norms, 1), norms


def _rank(x):
    """Ranks 1..n with ties given their average rank (Spearman's convention)."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=np.float64)
    xs = np.asarray(x)[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and xs[j + 1] == xs[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _betainc(a, b, x):
    """The regularized incomplete beta function I_x(a, b) (continued fraction, Lentz)."""
    if x <= 0 or x >= 1:
        return 0.0 if x <= 0 else 1.0
    if x > (a + 1) / (a + b + 2):
        return 1.0 - _betainc(b, a, 1.0 - x)
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)) / a
    tiny = 1e-300
    f, c, d = 1.0, 1.0, 0.0
    for i in range(400):
        m = i // 2
        if i == 0:
            num = 1.0
        elif i % 2 == 0:
            num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        else:
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 + num * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + num / (c if abs(c) > tiny else tiny)
        f *= c * d
        if abs(1.0 - c * d) < 1e-15:
            break
    return front * (f - 1.0)


def _correlation(x, y):
    """(r, two-sided p-value of r = 0 by the t test with n - 2 degrees of freedom)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    n = len(x)
    xc, yc = x - x.mean(), y - y.mean()
    den = math.sqrt(float(xc @ xc) * float(yc @ yc))
    r = float(xc @ yc) / den if den > 0 else float("nan")
    if n < 3 or not math.isfinite(r):
        return r, float("nan")
    r = max(-1.0, min(1.0, r))
    df = n - 2
    if abs(r) == 1.0:
        return r, 0.0
    t2 = r * r * df / (1 - r * r)
    return r, _betainc(df / 2, 0.5, df / (df + t2))


class KeyedVectors:
    """Vectors (``vectors``, (len, vector_size)) keyed by words (``index_to_key``,
    ``key_to_index``), most frequent first when built by Word2Vec / GloVe."""

    def __init__(self, vector_size, count=0, dtype=np.float32):
        self.vector_size = int(vector_size)
        self.index_to_key = []
        self.key_to_index = {}
        self.vectors = np.zeros((count, self.vector_size), dtype=dtype)
        self.expandos = {}
        self.norms = None
        self._normed = None

    # ---- lookup ---------------------------------------------------------------------------
    def __len__(self):
        return len(self.index_to_key)

    def __contains__(self, key):
        return key in self.key_to_index

    def has_index_for(self, key):
        return key in self.key_to_index

    def __repr__(self):
        return f"KeyedVectors<vector_size={self.vector_size}, {len(self)} keys>"

    def get_index(self, key, default=None):
        """The row of ``key``; KeyError naming it when absent (unless a default is given)."""
        if isinstance(key, (int, np.integer)) and 0 <= key < len(self.index_to_key):
            return int(key)
        index = self.key_to_index.get(key)
        if index is not None:
            return index
        if default is not None:
            return default
        raise KeyError(f"word {key!r} is not in the vocabulary ({len(self)} words)")

    def get_vector(self, key, norm=False):
        index = self.get_index(key)
        return self.get_normed_vectors()[index] if norm else self.vectors[index]

    def __getitem__(self, keys):
        if isinstance(keys, (str, int, np.integer)):
            return self.get_vector(keys)
        return np.stack([self.get_vector(k) for k in keys])

    def get_vecattr(self, key, attr):
        return self.expandos[attr][self.get_index(key)].item()

    def set_vecattr(self, key, attr, value):
        if attr not in self.expandos:
            self.expandos[attr] = np.zeros(len(self), dtype=np.asarray(value).dtype)
        self.expandos[attr][self.get_index(key)] = value

    def add_vectors(self, keys, weights):
        """Appends new keys with their vectors (existing keys are overwritten in place)."""
        weights = np.asarray(weights, dtype=self.vectors.dtype).reshape(len(keys), self.vector_size)
        new = []
        for k, w in zip(keys, weights):
            if k in self.key_to_index:
                self.vectors[self.key_to_index[k]] = w
            else:
                self.key_to_index[k] = len(self.index_to_key)
                self.index_to_key.append(k)
                new.append(w)
        if new:
            self.vectors = np.concatenate([self.vectors, np.stack(new)])
            for attr, values in self.expandos.items():
                self.expandos[attr] = np.concatenate([values, np.zeros(len(new), dtype=values.dtype)])
        self.norms = self._normed = None

    # ---- norms ----------------------------------------------------------------------------
    def fill_norms(self, force=False):
        """Computes the row norms and unit vectors (cached until ``force`` or a change)."""
        if self._normed is None or force or self._normed.shape != self.vectors.shape:
            self._normed, norms = _unit_rows(self.vectors)
            self.norms = norms[:, 0]

    def get_normed_vectors(self):
        self.fill_norms()
        return self._normed

    def vectors_changed(self):
        """Call after writing ``vectors`` in place: drops the cached norms."""
        self.norms = self._normed = None

    @staticmethod
    def cosine_similarities(vector_1, vectors_all):
        v = np.asarray(vector_1, dtype=np.float64)
        all_ = np.asarray(vectors_all, dtype=np.float64)
        den = np.linalg.norm(all_, axis=1) * np.linalg.norm(v)
        return np.divide(all_ @ v, den, out=np.zeros(len(all_)), where=den > 0)

    def _scores(self, queries, limit):
        """Cosines of unit query rows (Q, D) with the first ``limit`` unit vectors: (Q, limit)."""
        normed = self.get_normed_vectors()[:limit]
        q = np.ascontiguousarray(queries, dtype=normed.dtype)
        return ops.matmul(q, np.ascontiguousarray(normed), trans_b=True)

    # ---- similarity queries ---------------------------------------------------------------
    def _weighted(self, positive, negative):
        """[(key or vector, weight)] of a gensim-style query: strings, arrays or (key, weight)."""
        def as_list(x):
            if x is None:
                return []
            if isinstance(x, (str, np.ndarray)) or (isinstance(x, tuple) and len(x) == 2
                                                     and isinstance(x[1], (int, float))):
                return [x]
            return list(x)
        items = []
        for sign, group in ((1.0, as_list(positive)), (-1.0, as_list(negative))):
            for item in group:
                if isinstance(item, tuple):
                    items.append((item[0], sign * float(item[1])))
                else:
                    items.append((item, sign))
        if not items:
            raise ValueError("most_similar: give at least one positive or negative word")
        return items

    def _top(self, scores, topn, exclude, offset=0):
        """[(key, score)] of the ``topn`` best scores (row offset + i), rows in ``exclude`` left out."""
        if topn is None:
            return scores
        order = np.argsort(-scores, kind="stable")[:topn + len(exclude)]
        best = [(self.index_to_key[offset + i], float(scores[i])) for i in order if offset + i not in exclude]
        return best[:topn]

    def most_similar(self, positive=None, negative=None, topn=10, clip_start=0, clip_end=None, restrict_vocab=None):
        """The ``topn`` words closest by cosine to the mean of the unit vectors of ``positive``
        minus those of ``negative`` (3CosAdd: king - man + woman), inputs excluded.
        Returns [(word, cosine)], or all scores when topn is None."""
        items = self._weighted(positive, negative)
        clip_end = clip_end if clip_end is not None else (restrict_vocab or len(self))
        mean, exclude = np.zeros(self.vector_size, dtype=np.float64), set()
        for key, weight in items:
            if isinstance(key, np.ndarray):
                mean += weight * key
            else:
                mean += weight * self.get_vector(key, norm=True)
                exclude.add(self.get_index(key))
        mean, _ = _unit_rows(mean / len(items))
        scores = self._scores(mean[None, :], clip_end)[0][clip_start:]
        return self._top(scores, topn, exclude, offset=clip_start)

    def most_similar_cosmul(self, positive=None, negative=None, topn=10, restrict_vocab=None):
        """3CosMul (Levy & Goldberg 2014): argmax prod cos'(w, pos) / (prod cos'(w, neg) + 1e-6)
        with cos' = (1 + cos) / 2 in [0, 1]."""
        items = self._weighted(positive, negative)
        limit = restrict_vocab or len(self)
        num = np.ones(limit)
        den = np.ones(limit)
        exclude = set()
        for key, weight in items:
            v = key if isinstance(key, np.ndarray) else self.get_vector(key, norm=True)
            if not isinstance(key, np.ndarray):
                exclude.add(self.get_index(key))
            unit, _ = _unit_rows(np.asarray(v, dtype=np.float64))
            sim = (1 + self._scores(unit[None, :], limit)[0]) / 2
            if weight > 0:
                num *= sim
            else:
                den *= sim
        scores = num / (den + 1e-6) if any(w < 0 for _, w in items) else num
        return self._top(scores, topn, exclude)

    def similar_by_word(self, word, topn=10, restrict_vocab=None):
        return self.most_similar(positive=[word], topn=topn, restrict_vocab=restrict_vocab)

    def similar_by_vector(self, vector, topn=10, restrict_vocab=None):
        return self.most_similar(positive=[np.asarray(vector)], topn=topn, restrict_vocab=restrict_vocab)

    def similarity(self, w1, w2):
        """Cosine similarity of two words."""
        return float(np.dot(self.get_vector(w1, norm=True), self.get_vector(w2, norm=True)))

    def n_similarity(self, ws1, ws2):
        """Cosine similarity of the means of two word lists."""
        if not len(ws1) or not len(ws2):
            raise ValueError("n_similarity: both word lists must be non-empty")
        a, b = self[list(ws1)].mean(axis=0), self[list(ws2)].mean(axis=0)
        return float(self.cosine_similarities(a, b[None, :])[0])

    def distance(self, w1, w2):
        return 1.0 - self.similarity(w1, w2)

    def distances(self, word_or_vector, other_words=()):
        v = self.get_vector(word_or_vector) if isinstance(word_or_vector, str) else word_or_vector
        others = self.vectors if not other_words else self[list(other_words)]
        return 1.0 - self.cosine_similarities(v, others)

    def rank(self, key1, key2):
        """1 + the number of words closer to key1 than key2 is."""
        return len(self.closer_than(key1, key2)) + 1

    def closer_than(self, key1, key2):
        scores = self.most_similar(positive=[key1], topn=None)
        i1, i2 = self.get_index(key1), self.get_index(key2)
        return [self.index_to_key[i] for i in np.flatnonzero(scores > scores[i2]) if i != i1]

    def doesnt_match(self, words):
        """The word furthest from the mean of the unit vectors of ``words`` (unknown words are
        skipped, as in gensim; KeyError when none is known)."""
        known = [w for w in words if w in self.key_to_index]
        if not known:
            raise KeyError(f"doesnt_match: none of {list(words)!r} is in the vocabulary")
        vecs = np.stack([self.get_vector(w, norm=True) for w in known]).astype(np.float64)
        mean, _ = _unit_rows(vecs.mean(axis=0))
        return known[int(np.argmin(vecs @ mean))]

    # ---- evaluation -----------------------------------------------------------------------
    def _ok_vocab(self, restrict_vocab, case_insensitive):
        keys = self.index_to_key[:restrict_vocab]
        if case_insensitive:  # reversed: the most frequent casing of a word wins
            return {k.upper(): self.key_to_index[k] for k in reversed(keys)}
        return {k: self.key_to_index[k] for k in reversed(keys)}

    def evaluate_word_analogies(self, analogies, restrict_vocab=300000, case_insensitive=True, dummy4unknown=False,
                                similarity_function="most_similar"):
        """Accuracy on analogy questions ``a b c d`` ("a is to b as c is to d") grouped in
        ``: section`` lines (questions-words.txt). Only the ``restrict_vocab`` most frequent
        words are candidates; questions with other words are skipped (or counted wrong with
        ``dummy4unknown``). The answer is the best word other than a, b, c by 3CosAdd
        (``similarity_function='most_similar'``) or 3CosMul ('most_similar_cosmul').
        Returns (total accuracy, sections): each section a dict with 'section', 'correct' and
        'incorrect' (lists of the questions' 4-tuples); the last is 'Total accuracy'."""
        if similarity_function not in ("most_similar", "most_similar_cosmul"):
            raise ValueError("evaluate_word_analogies: similarity_function must be 'most_similar' or "
                             f"'most_similar_cosmul', got {similarity_function!r}")
        ok_vocab = self._ok_vocab(restrict_vocab, case_insensitive)
        sections, questions, oov, total_lines = [], [], 0, 0
        with open_text(analogies) as f:
            for line_no, line in enumerate(f):
                if line.startswith(": "):
                    sections.append({"section": line[2:].strip(), "correct": [], "incorrect": []})
                    continue
                words = line.split()
                if not words:
                    continue
                if not sections:
                    raise ValueError(f"evaluate_word_analogies: {analogies}: line {line_no + 1} comes before any "
                                     "': section' header")
                if len(words) != 4:
                    continue
                quad = tuple(w.upper() for w in words) if case_insensitive else tuple(words)
                total_lines += 1
                if any(w not in ok_vocab for w in quad):
                    oov += 1
                    if dummy4unknown:
                        sections[-1]["incorrect"].append(quad)
                    continue
                questions.append((len(sections) - 1, quad))
        predicted = self._answer_analogies([q for _, q in questions], ok_vocab, restrict_vocab, case_insensitive,
                                           similarity_function == "most_similar_cosmul")
        for (s, quad), answer in zip(questions, predicted):
            sections[s]["correct" if answer == quad[3] else "incorrect"].append(quad)
        sections = [s for s in sections if s["correct"] or s["incorrect"]]
        total = {"section": "Total accuracy",
                 "correct": [q for s in sections for q in s["correct"]],
                 "incorrect": [q for s in sections for q in s["incorrect"]]}
        sections.append(total)
        n = len(total["correct"]) + len(total["incorrect"])
        self.analogy_oov_ratio = 100.0 * oov / total_lines if total_lines else 0.0
        return (len(total["correct"]) / n if n else 0.0), sections

    def _answer_analogies(self, quads, ok_vocab, restrict_vocab, case_insensitive, cosmul):
        """gensim's answer to each question: among the 5 best words other than a, b, c, the
        first whose (case-folded) form is none of a, b, c (else the 5th)."""
        limit = min(restrict_vocab, len(self))
        normed = self.get_normed_vectors()
        answers = []
        for lo in range(0, len(quads), _QUERY_BATCH):
            batch = quads[lo:lo + _QUERY_BATCH]
            idx = np.array([[ok_vocab[w] for w in q[:3]] for q in batch], dtype=np.int64)  # (B, 3): a, b, c
            if cosmul:
                sims = [(1 + self._scores(normed[idx[:, j]], limit)) / 2 for j in range(3)]
                scores = sims[1] * sims[2] / (sims[0] + 1e-6)
            else:
                q, _ = _unit_rows(normed[idx[:, 1]] + normed[idx[:, 2]] - normed[idx[:, 0]])
                scores = self._scores(q, limit)
            rows = np.arange(len(batch))[:, None]
            scores[rows, idx] = -np.inf
            k = min(5, limit)
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k] if limit > k else np.tile(np.arange(limit),
                                                                                             (len(batch), 1))
            top = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1,
                                                     kind="stable"), axis=1)
            for q, cands in zip(batch, top):
                ignore = set(q[:3])
                answer = None
                for i in cands:
                    answer = self.index_to_key[i].upper() if case_insensitive else self.index_to_key[i]
                    if answer in ok_vocab and answer not in ignore:
                        break
                answers.append(answer)
        return answers

    def evaluate_word_pairs(self, pairs, delimiter="\t", encoding="utf8", restrict_vocab=300000,
                            case_insensitive=True, dummy4unknown=False):
        """Correlation of the model's cosine similarities with human judgements (lines
        ``word1<TAB>word2<TAB>score``, '#' comments; WordSim-353, SimLex-999).
        Returns ((pearson r, p-value), (spearman rho, p-value), percentage of pairs with
        out-of-vocabulary words), as gensim; pairs outside the ``restrict_vocab`` most frequent
        words are skipped (or scored 0 with ``dummy4unknown``)."""
        ok_vocab = self._ok_vocab(restrict_vocab, case_insensitive)
        gold, model, oov = [], [], 0
        with open_text(pairs, encoding=encoding) as f:
            for line in f:
                if not line.strip() or line.startswith("#"):
                    continue
                parts = line.rstrip("\n").split(delimiter)
                if len(parts) != 3:
                    continue
                a, b, sim = parts
                try:
                    sim = float(sim)
                except ValueError:
                    continue
                if case_insensitive:
                    a, b = a.upper(), b.upper()
                if a not in ok_vocab or b not in ok_vocab:
                    oov += 1
                    if dummy4unknown:
                        gold.append(sim)
                        model.append(0.0)
                    continue
                gold.append(sim)
                normed = self.get_normed_vectors()
                model.append(float(np.dot(normed[ok_vocab[a]], normed[ok_vocab[b]])))
        if not gold:
            raise ValueError(f"evaluate_word_pairs: no usable pairs in {pairs}: wrong format, or every pair has a "
                             f"word outside the vocabulary of {len(self)} words")
        pearson = _correlation(gold, model)
        spearman = _correlation(_rank(gold), _rank(model))
        oov_ratio = 100.0 * oov / (len(gold) if dummy4unknown else len(gold) + oov)
        return pearson, spearman, oov_ratio

    # ---- files ----------------------------------------------------------------------------
    def save_word2vec_format(self, fname, fvocab=None, binary=False, write_header=True):
        """The word2vec C tool's format: a ``count dim`` header line, then per word the word, a
        space and the vector, as text (one line each) or as raw little-endian float32
        (``binary``). ``fvocab`` also writes ``word count`` lines (counts from training)."""
        vectors = np.asarray(self.vectors, dtype="<f4")
        tmp = f"{fname}.tmp{os.getpid()}"
        with open(tmp, "wb") as f:
            if write_header:
                f.write(f"{len(self)} {self.vector_size}\n".encode())
            fmt = " ".join(["%.9g"] * self.vector_size)
            for key, vec in zip(self.index_to_key, vectors):
                if binary:
                    f.write(key.encode("utf-8") + b" " + vec.tobytes() + b"\n")
                else:
                    f.write(f"{key} {fmt % tuple(vec.tolist())}\n".encode("utf-8"))
        os.replace(tmp, fname)
        if fvocab is not None:
            counts = self.expandos.get("count")
            with open(fvocab, "w", encoding="utf-8") as f:
                for i, key in enumerate(self.index_to_key):
                    f.write(f"{key} {int(counts[i]) if counts is not None else 1}\n")

    @classmethod
    def load_word2vec_format(cls, fname, fvocab=None, binary=False, encoding="utf8", unicode_errors="strict",
                             limit=None, datatype=np.float32, no_header=False):
        """Reads the word2vec C tool's text or binary format (as written by gensim, word2vec.c
        or save_word2vec_format); ``limit`` keeps the first words only."""
        with open(fname, "rb") as f:
            data = f.read()
        pos = 0
        if no_header:
            if binary:
                raise ValueError("load_word2vec_format: no_header needs the text format")
            lines = data.decode(encoding, errors=unicode_errors).splitlines()
            count, dim = len(lines), len(lines[0].split()) - 1 if lines else 0
        else:
            end = data.index(b"\n")
            try:
                count, dim = (int(x) for x in data[:end].split())
            except ValueError:
                raise ValueError(f"load_word2vec_format: {fname}: the first line must be 'count dim', got "
                                 f"{data[:end][:60]!r}") from None
            pos = end + 1
        if limit is not None:
            count = min(count, int(limit))
        kv = cls(dim, count, dtype=datatype)
        keys = []
        if binary:
            width = 4 * dim
            for i in range(count):
                while data[pos:pos + 1] in (b"\n", b" ", b"\r"):
                    pos += 1
                space = data.index(b" ", pos)
                keys.append(data[pos:space].decode(encoding, errors=unicode_errors))
                chunk = data[space + 1:space + 1 + width]
                if len(chunk) != width:
                    raise ValueError(f"load_word2vec_format: {fname}: the file ends inside vector {i} of {count}")
                kv.vectors[i] = np.frombuffer(chunk, dtype="<f4")
                pos = space + 1 + width
        else:
            lines = data[pos:].decode(encoding, errors=unicode_errors).splitlines()
            lines = [l for l in lines if l.strip()][:count]
            if len(lines) != count:
                raise ValueError(f"load_word2vec_format: {fname}: expected {count} vectors, found {len(lines)}")
            numbers = []
            for i, line in enumerate(lines):
                parts = line.rstrip().split(" ")
                if len(parts) != dim + 1:
                    raise ValueError(f"load_word2vec_format: {fname}: vector {i} has {len(parts) - 1} values, "
                                     f"expected {dim}")
                keys.append(parts[0])
                numbers.append(" ".join(parts[1:]))
            if numbers:
                kv.vectors[:] = np.array(" ".join(numbers).split(), dtype=np.float64).reshape(count, dim)
        kv.index_to_key = keys
        kv.key_to_index = {k: i for i, k in enumerate(keys)}
        if len(kv.key_to_index) != len(keys):
            raise ValueError(f"load_word2vec_format: {fname} lists some words twice")
        if fvocab is not None:
            counts = np.zeros(count, dtype=np.int64)
            with open(fvocab, encoding=encoding) as f:
                for line in f:
                    word, c = line.rsplit(None, 1)
                    if word in kv.key_to_index:
                        counts[kv.key_to_index[word]] = int(c)
            kv.expandos["count"] = counts
        return kv

    def save(self, fname):
        """All of it (vectors, keys, counts) in one deepkern checkpoint (dk.save: npz, no pickle)."""
        _dk_save({"kind": "KeyedVectors", "vectors": self.vectors, "index_to_key": list(self.index_to_key),
                  "expandos": dict(self.expandos)}, fname)

    @classmethod
    def load(cls, fname):
        state = _dk_load(fname)
        if not isinstance(state, dict) or state.get("kind") != "KeyedVectors":
            raise ValueError(f"KeyedVectors.load: {fname} is not a KeyedVectors file saved by deepkern")
        return cls._from_state(state)

    @classmethod
    def _from_state(cls, state):
        vectors = np.asarray(state["vectors"])
        kv = cls(vectors.shape[1], 0, dtype=vectors.dtype)
        kv.vectors = vectors
        kv.index_to_key = list(state["index_to_key"])
        kv.key_to_index = {k: i for i, k in enumerate(kv.index_to_key)}
        kv.expandos = {k: np.asarray(v) for k, v in state["expandos"].items()}
        return kv
