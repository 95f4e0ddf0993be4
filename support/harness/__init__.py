"""The harness: hooks, fixtures, settings, the scenario world, waiting and matchers."""
