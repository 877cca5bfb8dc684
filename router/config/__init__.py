"""Region configuration: load a region YAML file, check it in full and turn it into the
engine's :class:`~router.core.policy.RoutingPolicy` (``load_region(path).policy()``).

See ``docs/configuration.md`` for the schema and :mod:`router.config.loader` for a
summary."""

from router.config.errors import ConfigError
from router.config.loader import load_region, parse_region
from router.config.region import Region, Site, Team

__all__ = ["ConfigError", "Region", "Site", "Team", "load_region", "parse_region"]
