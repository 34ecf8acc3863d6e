"""deepkern.text: word vectors (Word2Vec, GloVe, KeyedVectors with gensim's API), the corpora
of the NLP chapter, and sequence-to-sequence utilities — BLEU, greedy and beam search, the date
normalization data set."""
from .bleu import corpus_bleu, sentence_bleu
from .search import beam_search, error_analysis, greedy_search, sequence_log_prob
from .vocab import Vocab
from . import corpora
from .keyedvectors import KeyedVectors
from .word2vec import LineSentence, Word2Vec
from .glove import GloVe
