"""Personalized PageRank (placeholder exports, completed below)."""
from graphkit.ppr._kernels import *  # noqa
