"""Tools around the suite: the step catalogue, the logging benchmark and the report's browser check."""
