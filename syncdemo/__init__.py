"""syncdemo: see race conditions happen on real threads."""

__version__ = "0.1.0"
