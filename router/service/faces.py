"""The pages: the agent desktop (``/agent``), the supervisor console (``/supervisor``),
the wallboard (``/wallboard``) and the public status page (``/status``).

The agent, supervisor and wallboard pages are static HTML, CSS and JavaScript modules
from ``router/service/pages/``, clients of the documented API and websockets like any
other (no bundler, no build step). The status page is rendered here, on the server, from
the same data ``/api/public/services`` serves, so its basic facts need no JavaScript and
no token; a small script refreshes it in place. Every response carries a content
security policy that allows only this origin (scripts, styles, connections), so the
pages work with no outside network. ``/status`` alone may be framed by other sites (the
embeddable snippet in ``docs/pages.md``).
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from router.service.auth import Principal
from router.service.http import ApiError
from router.service.public import service_status
from router.service.routes import Route
from router.service.service import Service

LANGUAGES = ("fi", "sv", "en")
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
}
_ASSET = re.compile(r"^[a-z0-9][a-z0-9-]*\.(js|css|json|svg)$")
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors {frame}"
)


def pages_dir() -> Path:
    return Path(str(resources.files("router.service") / "pages"))


@cache
def labels() -> dict[str, dict[str, str]]:
    """Every label in every language (``pages/labels.json``, shared with the scripts)."""
    data: dict[str, dict[str, str]] = json.loads(
        (pages_dir() / "labels.json").read_text(encoding="utf-8")
    )
    return data


def headers(content_type: str, frame: str = "'none'") -> dict[str, str]:
    """Security and cache headers of every page and asset: revalidated on each load
    (``no-cache`` with the file's Last-Modified), policy: only this origin."""
    return {
        "Content-Type": content_type,
        "Cache-Control": "no-cache",
        "Content-Security-Policy": _CSP.format(frame=frame),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def choose_language(request: web.Request) -> str:
    """``?lang=`` when given, else the first of fi/sv/en the browser accepts, else fi."""
    asked = request.query.get("lang", "")
    if asked in LANGUAGES:
        return asked
    weighted: list[tuple[float, int, str]] = []
    for i, part in enumerate(request.headers.get("Accept-Language", "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        code = tag.strip().lower()[:2]
        if code in LANGUAGES and q > 0:
            weighted.append((-q, i, code))
    return min(weighted)[2] if weighted else "fi"


# ---------------------------------------------------------------- the status page


def _minutes(seconds: float) -> int:
    return max(0, round(seconds / 60))


def status_html(service: Service, lang: str, embed: bool) -> str:
    """The public status page in ``lang``: per service open or closed (and when it
    opens), how many wait and the estimated wait, from :func:`service_status`."""
    t = labels()[lang]
    zone = ZoneInfo(service.region.timezone)
    now = service.runtime.clock()

    def say(key: str, **values: object) -> str:
        text = t.get(key, labels()["en"].get(key, key))
        for name, value in values.items():
            text = text.replace("{" + name + "}", str(value))
        return html.escape(text)

    def when(epoch: float) -> str:
        moment = datetime.fromtimestamp(epoch, zone)
        day = moment.date() == datetime.fromtimestamp(now, zone).date()
        clock = moment.strftime("%H.%M" if lang == "fi" else "%H:%M")
        return clock if day else f"{moment.day}.{moment.month}. {clock}"

    rows = []
    opened = service.open_services()
    # The page's reader is told the wait of a caller in the page's language (a Swedish
    # caller's wait is not the service's when fewer agents speak Swedish), when the
    # region answers in it.
    language = lang if lang in service.region.languages else None
    for name in service.region.services:
        status = service_status(service, name, opened, language)
        title = say("service." + name) if "service." + name in t else html.escape(name)
        is_open = bool(status.get("open"))
        state = say("status.open") if is_open else say("status.closed")
        detail = ""
        if not is_open and status.get("opens_at"):
            detail = say("status.opens", time=when(float(status["opens_at"])))
        elif is_open and status.get("staffed") is False:
            # Open by its hours, but nobody who could answer is logged in right now.
            detail = say("status.unstaffed")
        wait = status.get("estimated_wait")
        if is_open and isinstance(wait, dict):
            low, high = _minutes(wait["min_s"]), _minutes(wait["max_s"])
            estimate = (
                say("status.wait_under", max=max(high, 1))
                if low == 0
                else say("status.wait_range", min=low, max=high)
            )
        else:
            estimate = say("status.wait_unknown") if is_open else "–"
        waiting = int(status.get("waiting", 0))
        rows.append(
            f'<tr data-service="{html.escape(name)}" class="{"open" if is_open else "closed"}">'
            f'<th scope="row">{title}</th>'
            f'<td data-label="{say("status.state")}"><span class="badge">{state}</span>'
            f"{f'<br><small>{detail}</small>' if detail else ''}</td>"
            f'<td class="num" data-label="{say("status.waiting")}">{waiting}</td>'
            f'<td data-label="{say("status.estimate")}">{estimate}</td></tr>'
        )
    tail = "&amp;embed=1" if embed else ""
    current = ' aria-current="true"'
    switch = " ".join(
        f'<a href="?lang={code}{tail}" lang="{code}" hreflang="{code}"'
        f"{current if code == lang else ''}>{labels()[code]['language.name']}</a>"
        for code in LANGUAGES
    )
    updated = when(now)
    columns = "".join(
        f'<th scope="col">{say(key)}</th>'
        for key in ("status.service", "status.state", "status.waiting", "status.estimate")
    )
    head_extra = "" if embed else f"<h1>{say('status.title')}</h1><p>{say('status.intro')}</p>"
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{say("status.title")}</title>
<link rel="icon" href="/pages/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/pages/yhteys.css">
<script type="module" src="/pages/status.js"></script>
</head>
<body class="status{" embed" if embed else ""}">
<main id="status">
<nav class="languages" aria-label="{say("language.choose")}">{switch}</nav>
{head_extra}
<table>
<caption>{say("status.caption", time=updated)}</caption>
<thead><tr>{columns}</tr></thead>
<tbody>
{"".join(rows)}
</tbody>
</table>
<p class="note">{say("status.note")}</p>
</main>
</body>
</html>
"""


# ---------------------------------------------------------------- routes

PAGES = {"/agent": "agent.html", "/supervisor": "supervisor.html", "/wallboard": "wallboard.html"}


def routes(service: Service) -> list[Route]:
    root = pages_dir()
    assets = {p.name for p in root.iterdir() if _ASSET.match(p.name)}

    def page(filename: str) -> Any:
        async def handler(request: web.Request, _: Principal | None) -> web.StreamResponse:
            return web.FileResponse(root / filename, headers=headers(TYPES[".html"]))

        handler.__name__ = "page_" + filename.removesuffix(".html")
        return handler

    async def asset(request: web.Request, _: Principal | None) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in assets:
            raise ApiError(404, "not_found", f"no page asset {name!r}")
        suffix = name[name.rindex(".") :]
        return web.FileResponse(root / name, headers=headers(TYPES[suffix]))

    async def favicon(request: web.Request, _: Principal | None) -> web.StreamResponse:
        # Asked for by browsers and tools that do not read the pages' icon link.
        return web.FileResponse(root / "icon.svg", headers=headers(TYPES[".svg"]))

    async def status(request: web.Request, _: Principal | None) -> web.StreamResponse:
        lang = choose_language(request)
        embed = request.query.get("embed") == "1"
        body = status_html(service, lang, embed)
        response = web.Response(text=body, headers=headers(TYPES[".html"], frame="*"))
        response.headers["Vary"] = "Accept-Language"
        response.headers["Content-Language"] = lang
        return response

    html_ok = {200: "the page (text/html)"}
    table = [
        Route(
            "GET",
            path,
            page(filename),
            f"The {filename[:-5]} page (text/html)",
            tag="pages",
            responses=html_ok,
        )
        for path, filename in PAGES.items()
    ]
    return [
        *table,
        Route(
            "GET",
            "/status",
            status,
            "The public status page (text/html, no token, no personal data; "
            "query: lang=fi|sv|en, embed=1 for an iframe)",
            tag="pages",
            responses=html_ok,
        ),
        Route(
            "GET",
            "/favicon.ico",
            favicon,
            "The pages' icon (image/svg+xml)",
            tag="pages",
            responses={200: "the icon"},
        ),
        Route(
            "GET",
            "/pages/{name}",
            asset,
            "A script, style sheet or label file of the pages",
            tag="pages",
            responses={200: "the file", 404: "no such file"},
        ),
    ]
