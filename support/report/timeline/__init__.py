"""A scenario's connection timeline as one self-contained SVG picture, for people reading the report.

The text story (support/report/story.py) tells everything in order; this picture tells it at a glance:
each client's states, messages, retries and key moments, and what the network, the gateway and the
auth service did, on one time axis. Only known, harmless fields are shown: never message payloads,
tokens or keys.

Every fault a scenario applies is drawn on the lane of what it struck, with a plain label. Labels never
overprint one another: one with no room goes to a free row, or is shortened, or (a last resort for marks that
are not faults) left to its mark's tooltip, which always says everything.

The package's parts, each one concept: ``vocabulary`` (what is shown and in which colours), ``geometry``
(the plot and its time scale), ``labels`` (where a label fits), ``wording`` (labels' and tooltips' words),
``svg`` (the elements), ``client_lanes`` and ``service_marks`` (reading a client's events and the services'
journal entries), ``service_lanes`` (drawing the services' marks) and ``picture`` (the whole).
"""

from support.report.timeline.picture import render_timeline
from support.report.timeline.vocabulary import STATE_COLOURS

__all__ = ["STATE_COLOURS", "render_timeline"]
