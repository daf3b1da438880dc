"""The access log a page at a time (``engine.audit.access(after=...)``), on both
backends: every entry once, in order, also when many share one time (a
fixed clock: every entry at the same instant), and a bad key is one error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from helpers import READER, start

from forloeb import Actor, Engine, InvalidData

ANNA = Actor("anna", ["worker"])
AUDITOR = Actor("revisor", ["auditor"])


def test_pages_of_the_access_log_hold_every_entry_once_even_at_one_instant(clocked_engine: Engine) -> None:
    e = start(clocked_engine, ANNA)
    for i in range(23):
        clocked_engine.get(e.id, actor=READER, purpose=f"læst {i:02d}")
    every = clocked_engine.audit.access(AUDITOR, actor="leder")
    assert len({x.occurred_at for x in every}) == 1  # one instant: only the id orders them
    pages: list[list[str | None]] = []
    after = None
    while True:
        page = clocked_engine.audit.access(AUDITOR, actor="leder", limit=5, after=after)
        if not page:
            break
        pages.append([x.purpose for x in page])
        after = (page[-1].occurred_at, page[-1].id)
    assert [p for page in pages for p in page] == [x.purpose for x in every]
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]


@pytest.mark.parametrize("after", [(datetime(2026, 3, 2), 1), ("2026-03-02", 1), (datetime.now(UTC), True)])
def test_a_page_key_that_is_not_a_time_and_an_id_is_refused(engine: Engine, after: object) -> None:
    with pytest.raises(InvalidData):
        engine.audit.access(AUDITOR, after=after)  # type: ignore[arg-type]
