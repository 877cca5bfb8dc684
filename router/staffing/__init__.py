"""Staffing: Erlang C and Erlang A (``erlang``), per-interval plans (``plan``), the
``yhteys staffing`` command (``command``), its HTML report (``report``) and the
self-contained HTML page and SVG bar charts every report is drawn with (``html``)."""
