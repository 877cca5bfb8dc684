"""What-if on the real engine in virtual time: ``model`` (demand, distributions, the
replicated runs and their statistics), ``command`` (``yhteys simulate``), ``compare`` and
``compare_command`` (``yhteys compare``) and ``report`` (their ``--report FILE.html``)."""
