"""deepkern.metrics: evaluation metrics on NumPy arrays."""
from .detection import average_precision, mean_average_precision
from .generative import classifier_score, feature_statistics, frechet_distance
from .verification import (balanced_accuracy, best_threshold, one_shot_accuracy, roc_auc, roc_curve,
                           verification_pairs)
