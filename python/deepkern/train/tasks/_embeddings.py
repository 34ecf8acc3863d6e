"""What ``deepkern train word2vec`` and ``deepkern train glove`` share: the corpus, the word
vector options, and the report at the end (analogies, word similarity, neighbours, debiasing,
t-SNE map, saved vectors)."""
from __future__ import annotations

import numpy as np

from ...cli import existing_file, output_path, positive_int, require
from ..task import Task, UsageError

TSNE_WORDS = ("man woman king queen boy girl father mother son daughter brother sister husband wife "
              "monday tuesday friday sunday january march june december one two three four five ten "
              "france england germany paris london washington city town village street house church "
              "school college university student teacher doctor nurse lawyer money dollars price market")
PROBES = ("money", "president", "school", "woman", "good", "war")


def read_corpus(path):
    """Sentences of tokens: ``path`` (one sentence a line, whitespace tokens) or, for None, the
    Brown corpus shipped with deepkern (lower-cased)."""
    from ...text import corpora

    if path is None:
        return corpora.brown()
    try:
        with open(path, encoding="utf-8") as f:
            sentences = [line.split() for line in f]
    except UnicodeDecodeError as e:
        raise UsageError("--corpus", f"{path} is not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise UsageError("--corpus", f"cannot read {path}: {e.strerror}") from None
    sentences = [s for s in sentences if s]
    if not sentences:
        raise UsageError("--corpus", f"{path} has no words")
    return sentences


class EmbeddingTask(Task):
    """A task that learns word vectors; subclasses build ``self.model`` (with ``.wv``)."""

    unused = ("batch_size",)
    resume_may_change = ("save_vectors", "tsne", "tsne_words", "debias")

    @classmethod
    def add_arguments(cls, p):
        a = p.add_argument
        a("--corpus", metavar="FILE", type=existing_file, default=None,
          help="UTF-8 text, one sentence a line, tokens split on whitespace (default: the Brown corpus "
               "shipped with deepkern, 1.16M words, lower-cased)")
        a("--vector-size", type=positive_int, default=100, help="dimensions of the word vectors")
        a("--min-count", type=positive_int, default=5, help="words seen fewer times are dropped")
        a("--save-vectors", metavar="PATH", default=None,
          help="write the vectors in word2vec's format (binary when PATH ends in .bin; gensim reads both)")
        a("--tsne", metavar="PNG", default=None, help="draw a t-SNE map of --tsne-words (needs scikit-learn)")
        a("--tsne-words", default=TSNE_WORDS, metavar="WORDS", help="space-separated words for --tsne")
        a("--debias", action="store_true",
          help="also report hard debiasing: direct gender bias over profession words and analogy accuracy, "
               "before and after")

    def check(self):
        super().check()
        if self.args.tsne:
            require("sklearn.manifold", "--tsne", package="scikit-learn", extra="text")
            require("matplotlib", "--tsne", extra="text")
            output_path(self.args.tsne, "--tsne")
        if self.args.save_vectors:
            output_path(self.args.save_vectors, "--save-vectors")

    def check_vocabulary(self, kv):
        """Setup's last check (before training): --tsne needs two of --tsne-words in the vocabulary."""
        if self.args.tsne:
            known = [w for w in self.args.tsne_words.split() if w in kv]
            if len(known) < 2:
                raise UsageError("--tsne-words", f"need at least 2 words in the vocabulary, found {known}")

    def workers(self):
        import deepkern as dk
        return dk.get_num_threads()

    def word_bar(self, total, unit="word"):
        bar = self.progress(total=total, unit=unit)
        bar.unit_scale = True  # "Mword/s"
        return bar

    def report(self, kv):
        """Print the evaluation; save / draw what was asked for."""
        from ...text import corpora, debias

        args = self.args
        score, sections = kv.evaluate_word_analogies(corpora.questions_words())
        answered = len(sections[-1]["correct"]) + len(sections[-1]["incorrect"])
        semantic = [s for s in sections[:-1] if not s["section"].startswith("gram")]
        syntactic = [s for s in sections[:-1] if s["section"].startswith("gram")]

        def acc(group):
            c = sum(len(s["correct"]) for s in group)
            n = c + sum(len(s["incorrect"]) for s in group)
            return f"{100 * c / n:.2f}%" if n else "n/a"

        print(f"analogies (questions-words, 3CosAdd): {100 * score:.2f}% of {answered:,} answerable "
              f"(semantic {acc(semantic)}, syntactic {acc(syntactic)}; {kv.analogy_oov_ratio:.1f}% of the "
              "questions have a word outside the vocabulary)")
        for name, title in (("wordsim353", "WordSim-353"), ("simlex999", "SimLex-999")):
            try:
                path = corpora.word_eval_file(name, args.data_dir)
            except FileNotFoundError:
                print(f"{title}: skipped (not shipped with deepkern; --data-dir DIR with word_eval/{name}"
                      f"{'.tsv' if name == 'wordsim353' else '.txt'})")
                continue
            (r, _), (rho, _), oov = kv.evaluate_word_pairs(str(path))
            print(f"{title}: Spearman {rho:.3f}, Pearson {r:.3f} ({oov:.1f}% of pairs out of vocabulary)")
        for w in [w for w in PROBES if w in kv][:4]:
            near = ", ".join(f"{n} {s:.2f}" for n, s in kv.most_similar(w, topn=5))
            print(f"  {w}: {near}")
        if args.debias:
            self.report_debias(kv)
        if args.save_vectors:
            kv.save_word2vec_format(args.save_vectors, binary=args.save_vectors.endswith(".bin"))
            print(f"vectors: {args.save_vectors} ({len(kv):,} x {kv.vector_size})")
        if args.tsne:
            from ...text.tsne import tsne_plot
            words, _ = tsne_plot(kv, args.tsne_words.split(), args.tsne, seed=args.seed)
            print(f"t-SNE map of {len(words)} words: {args.tsne}")

    def report_debias(self, kv):
        from ...text import corpora, debias

        try:
            clean, g = debias.hard_debias(kv)
        except ValueError as e:
            print(f"debiasing: skipped ({e})")
            return
        professions = [w for w in debias.PROFESSIONS if w in kv]
        before = debias.direct_bias(kv, professions, g)
        after = debias.direct_bias(clean, professions, g)
        acc_before = kv.evaluate_word_analogies(corpora.questions_words())[0]
        acc_after = clean.evaluate_word_analogies(corpora.questions_words())[0]
        pairs = [p for p in debias.DEFINITIONAL_PAIRS if p[0] in kv and p[1] in kv]
        print(f"debiasing (Bolukbasi et al. 2016; g from {len(pairs)} definitional pairs): direct bias over "
              f"{len(professions)} professions {before:.4f} -> {after:.4f}; analogy accuracy "
              f"{100 * acc_before:.2f}% -> {100 * acc_after:.2f}%")
        shown = [w for w in ("nurse", "engineer", "doctor", "secretary", "teacher", "soldier") if w in kv][:4]
        if shown:
            cos = lambda v, w: float(np.dot(v[w], g) / np.linalg.norm(v[w]))  # noqa: E731
            print("  cos(w, g) before -> after: " + ", ".join(f"{w} {cos(kv, w):+.3f} -> {cos(clean, w):+.3f}"
                                                            for w in shown))
