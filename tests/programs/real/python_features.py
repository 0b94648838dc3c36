"""Ordinary Python around torch: random, functools, a dataclass, generators, closures."""
import functools
import random
from dataclasses import dataclass

import torch

@dataclass
class Config:
    scale: float = 2.0
    steps: int = 3

def logged(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        print("calling", fn.__name__)
        return fn(*args)
    return wrapper

def make_scaler(k):
    def scale(t):
        return t * k  # k comes from the closure
    return scale

def powers(t, n):
    for i in range(1, n + 1):
        yield t**i

@logged
def combine(terms):
    return functools.reduce(lambda acc, t: acc + t, terms)

cfg = Config()
jitter = random.uniform(-1, 1)
w = torch.tensor([0.5, -1.5], requires_grad=True)
scaled = make_scaler(cfg.scale)(w)
total = combine(list(powers(scaled, cfg.steps))).sum() + jitter
total.backward()
print(round(jitter, 6), w.grad)
