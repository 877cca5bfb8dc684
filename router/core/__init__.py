"""The pure routing core: state + events -> decisions. No I/O, no wall clock."""
