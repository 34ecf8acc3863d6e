"""deepkern.text: sequence-to-sequence utilities — BLEU, greedy and beam search, the date
normalization data set."""
from .bleu import corpus_bleu, sentence_bleu
from .search import beam_search, error_analysis, greedy_search, sequence_log_prob
from .vocab import Vocab
