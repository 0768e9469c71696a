"""Benchmarks that print figures. Timings are CPU time (``time.process_time``), best of
several batches, because the machines are shared; never asserted in tests."""
