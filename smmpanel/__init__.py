"""smmpanel: a social-media-marketing reseller panel."""

__version__ = "0.1.0"
