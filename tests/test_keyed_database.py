"""Issue 12, M7 and H5: a database records that it is keyed; checkpoints cannot be downgraded.

M7: a process with no key or the wrong key wrote into a keyed log, and verify
without the key called a plain-SHA-256 forgery intact. H5: a keyed checkpoint
with its signature removed and its digest recomputed passed with a warning.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import READER, drive, start
from sqlalchemy import create_engine, delete, func, select, text

from forloeb import Actor, AuditKeyError, Engine
from forloeb.cli import cli
from forloeb.engine._keying import key_check
from forloeb.persistence import SqlStore
from forloeb.persistence._tables import ALL_TABLES, settings

KEY = "revisionsnøgle"


def _all_rows(engine: Engine) -> dict[str, int]:
    """Rows in every table, the access log included (a refused write writes nothing at all)."""
    assert isinstance(engine.store, SqlStore)
    with engine.store.sa_engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in ALL_TABLES}


def _setting(engine: Engine) -> Any:
    assert isinstance(engine.store, SqlStore)
    with engine.store.sa_engine.connect() as conn:
        return conn.execute(select(settings.c.value).where(settings.c.name == "audit_key")).scalar()


@pytest.fixture
def keyed_url(db_url: str, worker: Actor) -> Iterator[str]:
    with Engine.open(db_url, migrate=True, audit_key=KEY) as eng:
        drive(eng, worker, "shared_path")
    yield db_url


def test_m7_the_database_records_a_key_check_value_never_the_key(keyed_url: str) -> None:
    with Engine.open(keyed_url, audit_key=KEY) as eng:
        recorded = _setting(eng)
    assert recorded == {"keyed": True, "check": key_check(KEY.encode())}
    assert KEY not in json.dumps(recorded, ensure_ascii=False)
    assert hashlib.sha256(KEY.encode()).hexdigest()[:32] != recorded["check"]


def test_m7_an_unkeyed_database_records_that_it_is_not_keyed(engine: Engine, worker: Actor) -> None:
    start(engine, worker)
    assert _setting(engine) == {"keyed": False}


@pytest.mark.parametrize(("key", "kind"), [(None, "missing"), ("en anden nøgle", "mismatch")])
def test_m7_no_key_or_a_wrong_key_refuses_to_write(
    keyed_url: str, worker: Actor, key: str | None, kind: str
) -> None:
    with Engine.open(keyed_url, audit_key=key) as eng:
        before = _all_rows(eng)
        with pytest.raises(AuditKeyError) as refused:
            start(eng, worker, subject="sag-2")
        assert refused.value.kind == kind
        assert "Nothing was written" in str(refused.value)
        assert "Intet er skrevet" in refused.value.message("da")
        assert KEY not in refused.value.message("da") + str(refused.value)
        # Reading logs who read: that is a write into a keyed chain too.
        with pytest.raises(AuditKeyError):
            eng.get(1, actor=READER)
        assert _all_rows(eng) == before
    # The right key still writes.
    with Engine.open(keyed_url, audit_key=KEY) as eng:
        start(eng, worker, subject="sag-3")


def test_m7_a_key_for_an_unkeyed_database_is_refused(engine: Engine, worker: Actor) -> None:
    start(engine, worker)
    with Engine.open(engine.store.url, audit_key=KEY) as eng:
        before = _all_rows(eng)
        with pytest.raises(AuditKeyError) as refused:
            start(eng, worker, subject="sag-2")
        assert refused.value.kind == "unexpected"
        assert _all_rows(eng) == before


@pytest.mark.parametrize(("key", "kind"), [(None, "missing"), ("en anden nøgle", "mismatch")])
def test_m7_verify_without_the_key_says_it_cannot_verify(
    keyed_url: str, auditor: Actor, key: str | None, kind: str
) -> None:
    with Engine.open(keyed_url, audit_key=key) as eng:
        with pytest.raises(AuditKeyError) as refused:
            eng.audit.verify(auditor)
        assert refused.value.kind == kind
        assert "cannot be verified" in str(refused.value)
        assert "kan ikke kontrolleres" in refused.value.message("da")
        with pytest.raises(AuditKeyError):
            eng.audit.checkpoint(auditor)


def test_m7_a_database_from_before_the_record_is_recognised_by_its_first_event(
    keyed_url: str, worker: Actor
) -> None:
    with Engine.open(keyed_url, audit_key=KEY) as eng:
        assert isinstance(eng.store, SqlStore)
        with eng.store.sa_engine.begin() as conn:
            conn.execute(delete(settings))
    # Without the key: the first event does not verify as plain SHA-256, so refused.
    with Engine.open(keyed_url) as eng:
        with pytest.raises(AuditKeyError) as refused:
            start(eng, worker, subject="sag-2")
        assert refused.value.kind == "missing"
        assert _setting(eng) is None
    # With it: recorded with the first write.
    with Engine.open(keyed_url, audit_key=KEY) as eng:
        start(eng, worker, subject="sag-3")
        assert _setting(eng) == {"keyed": True, "check": key_check(KEY.encode())}


def test_m7_cli_says_it_in_one_line(tmp_path: Any) -> None:
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'f.db'}"
    assert runner.invoke(cli, ["--db", url, "init"], env={"FORLOEB_AUDIT_KEY": KEY}).exit_code == 0
    ok = runner.invoke(
        cli,
        [
            "--db",
            url,
            "--as",
            "anna",
            "start",
            "individual_course",
            "--subject",
            "sag-1",
            "--source",
            "skole",
        ],
        env={"FORLOEB_AUDIT_KEY": KEY},
    )
    assert ok.exit_code == 0, ok.output
    result = runner.invoke(cli, ["--db", url, "--lang", "da", "list"], env={"FORLOEB_AUDIT_KEY": "forkert"})
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "kontrolværdi" in lines[0] and "Traceback" not in result.output


def _downgrade(checkpoint: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Remove the signature and recompute the digest (what anyone can do)."""
    body = {k: v for k, v in checkpoint.items() if k not in ("digest", "signature")}
    body.update(changes)
    digest = hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    return {**body, "digest": digest.hexdigest(), "signature": None}


@pytest.mark.parametrize("claims_keyed", [True, False])
def test_h5_a_keyed_database_refuses_an_unsigned_checkpoint(
    keyed_url: str, auditor: Actor, claims_keyed: bool
) -> None:
    with Engine.open(keyed_url, audit_key=KEY) as eng:
        checkpoint = eng.audit.checkpoint(auditor)
        assert checkpoint["signature"] and eng.audit.verify(auditor, checkpoint=checkpoint).ok
        forged = _downgrade(json.loads(json.dumps(checkpoint)), keyed=claims_keyed)
        report = eng.audit.verify(auditor, checkpoint=forged)
        assert not report.ok
        (brk,) = report.breaks
        assert brk.kind == "signature" and "unsigned" in brk.detail and "nøglet" in brk.message("da")


@pytest.mark.postgresql
def test_m7_two_first_writers_with_different_keys_cannot_both_write(pg_url: str, worker: Actor) -> None:
    """The first write records the keying; a second process racing it with another key
    waits for the first's record (its insert conflicts) and is refused, not let through."""
    with Engine.open(pg_url, migrate=True, audit_key=KEY) as eng:
        assert isinstance(eng.store, SqlStore)
        with eng.store.sa_engine.begin() as conn:
            conn.execute(delete(settings))
    results: dict[str, object] = {}
    holder = create_engine(pg_url)
    with holder.connect() as lock_conn:
        # Hold the settings insert of whoever comes first: both race into it.
        lock_conn.execute(text("LOCK TABLE settings IN SHARE ROW EXCLUSIVE MODE"))

        def write(name: str, key: str | None) -> None:
            try:
                with Engine.open(pg_url, audit_key=key) as eng:
                    start(eng, worker, subject=f"sag-{name}")
                results[name] = "ok"
            except AuditKeyError as exc:
                results[name] = exc.kind

        threads = [threading.Thread(target=write, args=(n, k)) for n, k in (("a", KEY), ("b", None))]
        for t in threads:
            t.start()
        time.sleep(1.0)
        lock_conn.rollback()
    for t in threads:
        t.join(30)
    holder.dispose()
    assert sorted(map(str, results.values())) in (["missing", "ok"], ["ok", "unexpected"]), results
