"""The console's ``pretty`` format, mended: behave 1.3.3 prints a feature's header twice when it has a
Background (its ``background()`` replays the statement in hand, which is the feature just printed).

behave.ini registers this class under the name ``pretty`` (section ``[behave.formatters]``), so
``--format=pretty`` and the default console format both use it.
"""

from __future__ import annotations

from typing import Any

from behave.formatter.pretty import PrettyFormatter as BehavePrettyFormatter


class PrettyFormatter(BehavePrettyFormatter):
    """behave's pretty format, printing each feature header once."""

    def background(self, background: Any) -> None:
        if self.statement is self.current_feature:
            self.statement = background  # the feature's header is already on the console
            return
        super().background(background)
