"""What-if on the real engine in virtual time: ``model`` (demand, distributions, the
replicated runs and their statistics) and ``command`` (``yhteys simulate``)."""
