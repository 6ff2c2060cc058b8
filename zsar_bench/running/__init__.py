"""How runs happen: planning a request into runs, the driver (sweep) and its executors, one run in a
worker (runner, worker), the rerun cache and progress display."""
