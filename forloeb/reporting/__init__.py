"""What leaves forloeb as a file, shared by the CLI and the web console so that
both write it the same way: the audit log's CSV and JSON Lines rows with every
spreadsheet cell kept as data (:mod:`.exports`), and the report's bar charts as
SVG (:mod:`.charts`, matplotlib: the ``forloeb[reports]`` extra, imported only
when a chart is drawn).

Pure functions of what the engine returned: nothing here opens a database or
imports the engine.
"""

from __future__ import annotations
