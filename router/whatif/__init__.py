"""What-if on the real engine in virtual time: ``model`` (demand, distributions, figures
and their statistics), ``demand`` (``--rate``, ``--curve``, ``--handle``, local times),
``shifts`` (``--shifts``), ``replay`` (``--replay`` of an audit export), ``replication``
(one run on the engine, and many), ``command`` and ``tables`` (``yhteys simulate`` and
its output), ``compare`` and ``compare_command`` (``yhteys compare``) and ``report``
(their ``--report FILE.html``)."""
