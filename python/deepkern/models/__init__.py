"""deepkern.models: complete models of the course, built from deepkern.nn."""
from .charrnn import CharRNN
from .rnn_heads import SequenceClassifier, SequenceTagger
