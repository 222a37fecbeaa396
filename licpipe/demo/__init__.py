"""The demo organisation: realistic exports with planted ground truth for scoring the models."""

from licpipe.demo.generator import generate

__all__ = ["generate"]
