"""behave's entry point for hooks; everything lives in support/harness/hooks.py."""

from support.harness.hooks import (
    after_all,
    after_scenario,
    before_all,
    before_scenario,
    before_step,
    before_tag,
)

__all__ = ["after_all", "after_scenario", "before_all", "before_scenario", "before_step", "before_tag"]
