"""trnsim: a discrete-event simulator of AI training clusters built from AWS Trainium chips."""

__version__ = "0.1.0"
