"""Differentiable activations over deepkern.ops.activation."""
from __future__ import annotations

from .. import ops
from ..autograd import Function


class Relu(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return ops.relu(x)

    def backward(self, grad):
        return ops.relu_backward(grad, self.saved[0])


class LeakyRelu(Function):
    def forward(self, x, negative_slope=0.01):
        self.slope = negative_slope
        self.save_for_backward(x)
        return ops.leaky_relu(x, negative_slope)

    def backward(self, grad):
        return ops.leaky_relu_backward(grad, self.saved[0], self.slope)


class Sigmoid(Function):
    def forward(self, x):
        y = ops.sigmoid(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        return ops.sigmoid_backward(grad, self.saved[0])


class Tanh(Function):
    def forward(self, x):
        y = ops.tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        return ops.tanh_backward(grad, self.saved[0])


def relu(x):
    return Relu.apply(x)


def leaky_relu(x, negative_slope=0.01):
    return LeakyRelu.apply(x, negative_slope=negative_slope)


def sigmoid(x):
    return Sigmoid.apply(x)


def tanh(x):
    return Tanh.apply(x)
