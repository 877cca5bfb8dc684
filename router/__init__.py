"""Yhteys: a unified contact-centre routing engine."""

from importlib import metadata

try:  # the one version number is pyproject's, as installed
    __version__ = metadata.version("yhteys")
except metadata.PackageNotFoundError:  # pragma: no cover - run from a tree never installed
    __version__ = "0+unknown"
