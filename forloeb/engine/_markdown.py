"""Text that goes into a Markdown document, made inert (issue 12, M2).

Handover packages and a resident's access package are Markdown that a
receiver opens in whatever renders Markdown: often as HTML. A note or an
answer containing ``<script>``, ``<img src=x onerror=…>``, a
``[link](javascript:…)`` or a remote image ``![](https://…)`` must arrive as
the words it is, not as markup. So every value a person typed is put on one
line (no block structure can start), HTML's ``& < >`` become entities, and
the characters that start Markdown inline markup are escaped with a
backslash (CommonMark: any ASCII punctuation may be). Control characters are
shown as ``\\xNN``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

# Inline markup: emphasis, code, links and images, tables, strikethrough, headings.
_MARKUP = re.compile(r"([\\`*_\[\]()#!|~{}])")
_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def _control(c: str) -> bool:
    # Format characters too (bidi overrides can reorder what a reader sees);
    # not the zero-width joiner, which composes emoji.
    return unicodedata.category(c) in ("Cc", "Cf") and c != "\u200d"


def md_text(value: Any) -> str:
    """``value`` (text, or anything JSON can show) as inert Markdown on one line."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    text = "".join(f"\\x{ord(c):02x}" if _control(c) else c for c in text)
    return _MARKUP.sub(r"\\\1", text.translate(_ENTITIES))


__all__ = ["md_text"]
