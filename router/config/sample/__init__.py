"""The sample region packaged with the distribution, so that ``yhteys serve`` works from
any directory. ``config/region.yaml`` in the repository is the source of truth (the
README's path, the one to edit); ``region.yaml`` here is a copy that
tests/test_cli_ops.py checks is identical (``cp config/region.yaml
router/config/sample/region.yaml`` after editing it)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

REGION_YAML = Path(__file__).resolve().with_name("region.yaml")
DEFAULT_CONFIG = "config/region.yaml"
# The help of every command's --config (the rule ``region_file`` applies).
CONFIG_HELP = (
    "region YAML (default $YHTEYS_CONFIG, else ./config/region.yaml when it exists, else the "
    "sample region packaged with yhteys)"
)


def region_file(given: str | None, env: Mapping[str, str] | None = None) -> str:
    """The region file a command reads: the one named, else ``$YHTEYS_CONFIG``, else
    ``./config/region.yaml`` when it exists, else the packaged sample."""
    env = os.environ if env is None else env
    if given:
        return given
    if env.get("YHTEYS_CONFIG"):
        return env["YHTEYS_CONFIG"]
    if Path(DEFAULT_CONFIG).is_file():
        return DEFAULT_CONFIG
    return str(REGION_YAML)
