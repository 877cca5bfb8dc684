"""The sample region packaged with the distribution, so that ``yhteys serve`` works from
any directory. ``config/region.yaml`` in the repository is the source of truth (the
README's path, the one to edit); ``region.yaml`` here is a copy that
tests/test_cli_ops.py checks is identical (``cp config/region.yaml
router/config/sample/region.yaml`` after editing it)."""

from __future__ import annotations

from pathlib import Path

REGION_YAML = Path(__file__).resolve().with_name("region.yaml")
