"""deepkern.models: complete models of the course, built from deepkern.nn."""
from .charrnn import CharRNN
from .rnn_heads import SequenceClassifier, SequenceTagger
from .alexnet import AlexNet
from .googlenet import GoogLeNet
from .lenet import LeNet
from .mlp import MLP
from .resnet import ResNet, resnet18, resnet34, resnet50, resnet101, resnet152
from .vgg import VGG, vgg11, vgg13, vgg16, vgg19
from .seq2seq import Seq2Seq
from .yolo import YOLO
from .autoencoder import Autoencoder, ConvAutoencoder, DeepAutoencoder, TiedLinear
from .rbm import RBM
from .vae import VAE, ConvVAE
from .gan import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from .siamese import FaceEmbeddingNet, Siamese, SiameseClassifier
