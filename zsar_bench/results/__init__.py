"""What a run leaves: the records store and its schema, per-run score files, provenance."""
