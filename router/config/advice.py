"""Warnings about a region that loads: settings that are legal but that a person should
look at again. ``yhteys serve`` logs each one at start-up and ``yhteys check`` prints
them; neither refuses the region for them (problems, which do, are ``ConfigError``)."""

from __future__ import annotations

from router.config.region import Region

SINGLE_ATTEMPT = (
    "callback.attempts is 1: a single callback attempt is legal, but oversight bodies "
    "have reprimanded services that tried only once; a caller who misses the one call "
    "is closed unreachable (the default is 3)"
)


def region_warnings(region: Region) -> list[str]:
    """Every warning about ``region``, each as ``file: path: reason``."""
    out: list[str] = []
    for i, (name, spec) in enumerate(region.services.items()):
        if spec.callback_attempts == 1:
            out.append(f"{region.source}: services[{i}] ({name}): {SINGLE_ATTEMPT}")
    return out
