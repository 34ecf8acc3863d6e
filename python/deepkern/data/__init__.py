"""deepkern.data: datasets, the DataLoader, augmentation transforms and downloads.

    from deepkern.data import DataLoader, MNISTSubset, transforms as T
    train = MNISTSubset(train=True)                        # ships with deepkern: no network
    loader = DataLoader(train, batch_size=64, shuffle=True, seed=0,
                        transform=T.RandomCrop(28, padding=2))
    for x, y in loader:                                    # x (64, 1, 28, 28) float32, y (64,) int64
        ...
"""
from . import transforms
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, default_collate, random_split
from .download import cache_dir, download_file
from .folder import ImageFolder
from .loader import DataLoader
from .mnist import MNIST, FashionMNIST, MNISTSubset, read_idx

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split", "default_collate",
           "DataLoader", "transforms", "MNIST", "FashionMNIST", "MNISTSubset", "read_idx", "ImageFolder",
           "cache_dir", "download_file"]

from .faces import FaceDataset, IdentityBatchLoader, identity_folds, load_faces, split_identities
__all__ += ["FaceDataset", "IdentityBatchLoader", "identity_folds", "load_faces", "split_identities"]

from .detection import SyntheticDigitDetection
from .voc import load_raccoon, load_voc_annotations, parse_voc_xml
__all__ += ["SyntheticDigitDetection", "parse_voc_xml", "load_voc_annotations", "load_raccoon"]
