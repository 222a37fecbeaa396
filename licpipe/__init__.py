"""licpipe: software-license telemetry in, priced seat recommendations out."""

__version__ = "0.1.0"
