"""Without a Chromium the browser tests skip and say why, except in CI
(``YHTEYS_REQUIRE_BROWSER=1``) where a missing browser fails the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import pages_support


def test_a_missing_chromium_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages_support, "chromium_path", lambda: None)
    monkeypatch.delenv("YHTEYS_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no Chromium found"):
        pages_support.need_browser()


def test_a_missing_chromium_fails_when_the_browser_is_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pages_support, "chromium_path", lambda: None)
    monkeypatch.setenv("YHTEYS_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="YHTEYS_REQUIRE_BROWSER=1"):
        pages_support.need_browser()


def test_the_system_chromium_is_found_where_it_is_installed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("")
    monkeypatch.setenv("YHTEYS_CHROMIUM", str(fake))
    assert pages_support.need_browser() == str(fake)
