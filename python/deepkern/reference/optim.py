"""Pure-NumPy optimizer steps, in place, written as PyTorch's single-tensor code: the ground
truth for deepkern.ops.optim. Scalars are cast to the arrays' dtype so the same code runs in
float32, float64 and long double."""
import numpy as np


def _lerp(a, b, w):
    return a + w * (b - a) if w < 0.5 else b - (b - a) * (1 - w)


def sgd_step(param, grad, momentum_buffer=None, *, lr, momentum=0.0, dampening=0.0, nesterov=False,
             weight_decay=0.0, first_step=False):
    t = param.dtype.type
    d = grad + t(weight_decay) * param if weight_decay else grad
    if momentum:
        if first_step:
            momentum_buffer[...] = d
        else:
            momentum_buffer[...] = t(momentum) * momentum_buffer + t(1 - dampening) * d
        d = d + t(momentum) * momentum_buffer if nesterov else momentum_buffer
    param[...] = param - t(lr) * d


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq=None, *, step, lr=1e-3, beta1=0.9, beta2=0.999,
              eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled_weight_decay=False):
    t = param.dtype.type
    if weight_decay:
        if decoupled_weight_decay:
            param[...] = param * t(1 - lr * weight_decay)
        else:
            grad = grad + t(weight_decay) * param
    exp_avg[...] = _lerp(exp_avg, grad, t(1 - beta1))
    exp_avg_sq[...] = exp_avg_sq * t(beta2) + t(1 - beta2) * grad * grad
    second = exp_avg_sq
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    step_size = t(lr / (1 - beta1 ** step))
    denom = np.sqrt(second) / t(np.sqrt(1 - beta2 ** step)) + t(eps)
    param[...] = param - step_size * exp_avg / denom


def rmsprop_step(param, grad, square_avg, grad_avg=None, momentum_buffer=None, *, lr=0.01, alpha=0.99, eps=1e-8,
                 weight_decay=0.0, momentum=0.0, centered=False):
    t = param.dtype.type
    if weight_decay:
        grad = grad + t(weight_decay) * param
    square_avg[...] = square_avg * t(alpha) + t(1 - alpha) * grad * grad
    if centered:
        grad_avg[...] = _lerp(grad_avg, grad, t(1 - alpha))
        avg = np.sqrt(square_avg - grad_avg * grad_avg) + t(eps)
    else:
        avg = np.sqrt(square_avg) + t(eps)
    if momentum > 0:
        momentum_buffer[...] = momentum_buffer * t(momentum) + grad / avg
        param[...] = param - t(lr) * momentum_buffer
    else:
        param[...] = param - t(lr) * grad / avg
