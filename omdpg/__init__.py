"""OMDPG harness: the algorithm (CCGA, GQC, OMQ) and the shared runtime."""

__version__ = "0.1.0"
