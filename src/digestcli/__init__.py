"""digest: arXiv papers in, newsletter Markdown out."""

__version__ = "0.1.0"
