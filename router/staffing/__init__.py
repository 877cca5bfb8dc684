"""Staffing: Erlang C and Erlang A (``erlang``), per-interval plans (``plan``) and the
``yhteys staffing`` command (``command``)."""
