"""leakguard: block, detect and trace data leaks across confidentiality zones."""

__version__ = "0.1.0"
