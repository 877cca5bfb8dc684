# Yhteys as a container: the locked dependencies (hash-checked), then the package itself
# without resolving anything else, run as a non-root user. See docs/deploy.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The lock is the install: exact versions with hashes (it also pins the build back-end, so
# the package below builds without fetching anything unlocked).
COPY requirements.lock /tmp/yhteys/requirements.lock
RUN python -m pip install --require-hashes --no-deps -r /tmp/yhteys/requirements.lock

COPY pyproject.toml README.md LICENSE /tmp/yhteys/
COPY router /tmp/yhteys/router
COPY skills /tmp/yhteys/skills
COPY channels /tmp/yhteys/channels
RUN python -m pip install --no-deps --no-build-isolation /tmp/yhteys \
    && python -m pip check \
    && rm -rf /tmp/yhteys

RUN useradd --system --uid 10001 --home-dir /srv/yhteys --create-home yhteys
USER yhteys
WORKDIR /srv/yhteys

# Without YHTEYS_CONFIG (or --config) the packaged sample region is served; its published
# demo tokens make serve refuse a non-loopback address unless YHTEYS_DEMO=1 (a try-out).
# Mount your own region file and set YHTEYS_CONFIG for anything else. Every other option
# has its variable too (YHTEYS_PORT, YHTEYS_REDIS_URL, ...; README.md); the port is 8080
# unless YHTEYS_PORT says otherwise, and the health check follows it.
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('YHTEYS_PORT', '8080'), timeout=4)"]
CMD ["yhteys", "serve", "--host", "0.0.0.0"]
