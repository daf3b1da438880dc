"""The low findings of issue 12: CPR numbers however written (L2), secrets in
URLs (L3), tracebacks that become one line with nothing written (L6), and
Danish that is Danish throughout (L8). One test per finding, named after it,
on both backends where the database matters.
"""

from __future__ import annotations

import ast
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers import READER, capture_logs, counts, start
from test_cli import CLEAN_ENV, db, ok, row_counts

from forloeb import Actor, DatabaseError, EngagementNotFound, Engine, ForloebError, InvalidData
from forloeb.cli import cli
from forloeb.engine import DeliveryError, Notification
from forloeb.engine._errors import DatabaseRejected, PermissionDenied
from forloeb.engine._i18n import ACTION_LABELS, ACTION_PHRASES
from forloeb.engine._logging import get_logger
from forloeb.engine.notifiers.webhook import WebhookNotifier
from forloeb.persistence import safe_url
from forloeb.persistence._sqlite import sqlite_setup

__all__ = ["db"]  # the CLI tests' database fixture, used here too

ROOT = Path(__file__).resolve().parents[1]


def invoke(*args: str, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner(env={**CLEAN_ENV, **(env or {})}).invoke(cli, list(args), catch_exceptions=False)


def one_line(result: Result, exit_code: int = 1) -> str:
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


# -- L2: a CPR number however it is written -------------------------------------------

CPR_FORMS = [
    "010190-1234",
    "0101901234",
    "010190 1234",
    "CPR 010190-1234",
    "cpr-nr. 0101901234",
    "010190\u20101234",  # hyphen
    "010190\u20111234",  # non-breaking hyphen
    "010190\u20121234",  # figure dash
    "010190\u20131234",  # en dash
    "010190\u20141234",  # em dash
    "010190\u22121234",  # minus sign
    "\uff10\uff11\uff10\uff11\uff19\uff10-\uff11\uff12\uff13\uff14",  # full-width digits
    "010190\u00a01234",  # no-break space
    "0101\u200b90-1234",  # a zero-width space inside
]
NOT_CPR = ["320190-1234", "311190-1234", "290291-1234", "tlf. 12 34 56 78", "sag 2026-117", "01019012345"]


@pytest.mark.parametrize("written", [w for w in CPR_FORMS if "\u200b" not in w])  # no invisibles in ids
def test_l2_a_subject_with_a_cpr_number_however_written_is_refused(
    engine: Engine, worker: Actor, written: str
) -> None:
    before = counts(engine)
    with pytest.raises(InvalidData) as info:
        start(engine, worker, subject=f"Borger {written}")
    assert "CPR-nummer" in info.value.message("da") and "CPR number" in info.value.message("en")
    assert counts(engine) == before


@pytest.mark.parametrize("written", CPR_FORMS)
def test_l2_a_note_or_an_activity_description_with_a_cpr_number_is_refused(
    engine: Engine, worker: Actor, written: str
) -> None:
    e = start(engine, worker)
    before = counts(engine)
    with pytest.raises(InvalidData) as info:
        engine.add_note(e.id, f"Ringede fra {written} i dag", actor=worker)
    assert info.value.message("da") == (
        "Ugyldige data: teksten ser ud til at indeholde et CPR-nummer; skriv en sagsreference i stedet "
        "(forloeb gemmer ikke CPR-numre)"
    )
    assert written not in info.value.message("da")  # the number is not repeated (messages get logged)
    with pytest.raises(InvalidData):
        engine.fire(e.id, "make_contact", actor=worker, note=f"Kontakt, {written}")
    assert counts(engine) == before


def test_l2_a_cpr_number_in_an_activity_description_is_refused(engine: Engine, worker: Actor) -> None:
    from helpers import drive

    e = drive(engine, worker, "action")
    before = counts(engine)
    with pytest.raises(InvalidData, match="CPR"):
        engine.record_activity(e.id, "agreement", actor=worker, description="Aftale med 010190-1234")
    assert counts(engine) == before


@pytest.mark.parametrize("text", NOT_CPR)
def test_l2_ten_digits_that_are_no_date_are_no_cpr_number(engine: Engine, worker: Actor, text: str) -> None:
    e = start(engine, worker, subject=f"sag {text}")
    assert engine.add_note(e.id, f"Notat: {text}", actor=worker).version == 2


def test_l2_the_cli_refuses_a_cpr_number_in_a_note_in_one_line(db: str) -> None:
    eid = ok(db, "--json", "start", "individual_course", "--subject", "sag-1", "--source", "skole")
    import json

    e = json.loads(eid.stdout)["id"]
    before = row_counts(db)
    line = one_line(invoke("--db", db, "--as", "anna", "note", str(e), "Borgerens CPR 010190–1234"))
    assert line.startswith("Fejl: Ugyldige data: teksten ser ud til at indeholde et CPR-nummer")
    assert "1234" not in line
    en = one_line(invoke("--db", db, "--as", "anna", "--lang", "en", "note", str(e), "cpr 0101901234"))
    assert en.startswith("Error: Invalid data: the text contains what looks like a CPR number")
    assert row_counts(db) == before


# -- L3: secrets in URLs --------------------------------------------------------------


def test_l3_a_password_in_a_database_urls_query_is_masked() -> None:
    url = "postgresql+psycopg://anna:hemmelig1@127.0.0.1:1/forloeb?password=hemmelig2&sslmode=disable"
    shown = safe_url(url)
    assert "hemmelig" not in shown and "password=***" in shown and "sslmode=disable" in shown
    with pytest.raises(DatabaseError) as info:  # nobody listens on port 1
        Engine.open(url, connect_timeout=2)
    for lang in ("da", "en"):
        assert "hemmelig" not in info.value.message(lang)
    assert "hemmelig" not in str(info.value)
    # An unparseable URL is not repeated at all (its text may hold the password).
    with pytest.raises(DatabaseError) as bad:
        Engine.open("postgresql://anna:hemmelig3@h:port/db?password=hemmelig4")
    assert "hemmelig" not in bad.value.message("da")


def test_l3_the_cli_never_prints_a_password_from_the_url(tmp_path: Path) -> None:
    result = invoke(
        "--db", "postgresql+psycopg://anna@127.0.0.1:1/x?password=hemmelig&connect_timeout=2", "list"
    )
    line = one_line(result)
    assert "hemmelig" not in line and "password=***" in line


def _notification(recipient: str = "") -> Notification:
    from datetime import UTC, datetime

    return Notification(
        message_id="m-1",
        channel="webhook",
        recipient=recipient,
        subject="Påmindelse",
        body="Forløb 1",
        created_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://anna:hemmelig@127.0.0.1:1/hook?token=hemmelig-token",
        "http://127.0.0.1:1/hooks/a b?sig=hemmelig-sig&key=hemmelig-key",  # http.client repeats the path
        "http://127.0.0.1:1/x?signature=hemmelig-signatur&secret=hemmelig-secret&password=hemmelig-pw",
    ],
)
def test_l3_a_webhook_urls_credentials_and_tokens_are_masked_in_errors_and_logs(url: str) -> None:
    hook = WebhookNotifier(url, secret="s", timeout=2)
    assert "hemmelig" not in repr(hook)
    with pytest.raises(DeliveryError) as info:
        hook.send(_notification())
    with capture_logs() as logs:
        get_logger().warning("delivery_failed", url=url, error=f"POST {url} failed", detail=info.value.detail)
    for text in (str(info.value), info.value.message("da"), info.value.detail, info.value.recipient):
        assert "hemmelig" not in text, text
    assert logs and not any("hemmelig" in str(v) for entry in logs for v in entry.values()), logs
    with pytest.raises(InvalidData) as refused:
        WebhookNotifier(url.replace("http://", "ftp://"), secret="s")
    assert "hemmelig" not in refused.value.message("da") and "hemmelig" not in str(refused.value)


# -- L6: one clear line, nothing written --------------------------------------------------


def test_l6_deeply_nested_json_in_data_is_one_line_and_writes_nothing(db: str) -> None:
    e = start_cli(db)
    before = row_counts(db)
    deep = "focus=" + "[" * 5000 + "]" * 5000
    line = one_line(invoke("--db", db, "--as", "anna", "record", str(e), "--data", deep), exit_code=2)
    assert "indlejret for dybt" in line
    nested = "focus=" + "[" * 100 + "]" * 100  # parses, but deeper than data may be
    line = one_line(invoke("--db", db, "--as", "anna", "record", str(e), "--data", nested))
    assert "indlejret dybere end 32 niveauer" in line
    assert row_counts(db) == before


def test_l6_deeply_nested_data_through_the_api_is_invalid_data(engine: Engine, worker: Actor) -> None:
    e = start(engine, worker)
    before = counts(engine)
    value: object = []
    for _ in range(2000):
        value = [value]
    circular: dict[str, object] = {}
    circular["self"] = circular
    for bad in ({"focus": value}, circular):
        with pytest.raises(InvalidData):
            engine.record_details(e.id, bad, actor=worker)
    assert counts(engine) == before


def start_cli(db: str) -> int:
    import json

    return int(
        json.loads(
            ok(db, "--json", "start", "individual_course", "--subject", "sag-1", "--source", "skole").stdout
        )["id"]
    )


def test_l6_invalid_utf8_in_an_argument_or_variable_is_one_line_and_writes_nothing(db: str) -> None:
    e = start_cli(db)
    before = row_counts(db)
    undecodable = b"Notat \xff\xfe".decode("utf-8", "surrogateescape")  # what Python makes of such bytes
    line = one_line(invoke("--db", db, "--as", "anna", "note", str(e), undecodable), exit_code=2)
    assert line == "Fejl: Argument nr. 7 er ikke gyldig UTF-8-tekst (bytes, der ikke kan læses som tegn)"
    line = one_line(
        invoke("--db", db, "note", str(e), "hej", env={"FORLOEB_ACTOR": undecodable}), exit_code=2
    )
    assert "FORLOEB_ACTOR" in line
    assert row_counts(db) == before


def test_l6_invalid_utf8_in_a_file_is_one_line(db: str, tmp_path: Path) -> None:
    config = tmp_path / "forloeb.toml"
    config.write_bytes(b"[scheduler]\nsweep_every = 60 # \xff\xfe\n")
    line = one_line(invoke("--db", db, "--as", "leder", "reminders", "sweep", "--config", str(config)))
    assert "ikke gyldig TOML" in line
    checkpoint = tmp_path / "kontrolpunkt.json"
    checkpoint.write_bytes(b'{"engagements": "\xff"}')
    line = one_line(
        invoke("--db", db, "--as", "revisor", "audit", "verify", "--checkpoint", str(checkpoint)), 2
    )
    assert "ikke UTF-8-tekst" in line


def test_l6_invalid_utf8_through_the_api_is_invalid_data(engine: Engine, worker: Actor) -> None:
    e = start(engine, worker)
    before = counts(engine)
    bad = "Notat \udcff"
    for attempt in (
        lambda: engine.add_note(e.id, bad, actor=worker),
        lambda: engine.record_details(e.id, {"focus": bad}, actor=worker),
        lambda: start(engine, worker, subject=bad),
    ):
        with pytest.raises(InvalidData) as info:
            attempt()
        assert "UTF-8" in info.value.message("da")
    assert counts(engine) == before


@pytest.mark.parametrize("huge", [2**31, 2**63, 10**20])
def test_l6_an_id_beyond_the_integer_range_is_one_clear_error_and_writes_nothing(
    engine: Engine, worker: Actor, huge: int
) -> None:
    e = start(engine, worker)
    before = counts(engine)
    for attempt in (
        lambda: engine.get(huge, actor=READER),
        lambda: engine.add_note(huge, "x", actor=worker),
        lambda: engine.history(huge, actor=READER),
    ):
        with pytest.raises(ForloebError) as info:
            attempt()
        # Not found (SQLite holds 2**31) or a value the database cannot hold: either way one clear message.
        assert isinstance(info.value, EngagementNotFound | DatabaseRejected), repr(info.value)
        assert len(info.value.message("da").splitlines()) == 1
    assert counts(engine) == before
    assert engine.get(e.id, actor=READER).version == 1


def test_l6_an_id_beyond_the_integer_range_is_one_line_in_the_cli(db: str) -> None:
    before = row_counts(db)
    for args in (
        ["show", "99999999999999999999"],
        ["note", "99999999999999999999", "x"],
        ["audit", "query", "--engagement", "99999999999999999999"],
    ):
        line = one_line(invoke("--db", db, "--as", "leder", *args))
        assert line.startswith("Fejl: "), line
    assert row_counts(db) == before


def test_l6_a_nul_character_in_text_is_refused_on_every_backend(engine: Engine, worker: Actor) -> None:
    e = start(engine, worker)
    before = counts(engine)
    for attempt in (
        lambda: engine.add_note(e.id, "før\x00efter", actor=worker),
        lambda: engine.record_details(e.id, {"focus": "før\x00efter"}, actor=worker),
        lambda: engine.record_details(e.id, {"focus": ["før\x00efter"]}, actor=worker),
        lambda: engine.record_details(e.id, {"fo\x00cus": "x"}, actor=worker),
        lambda: start(engine, worker, tags=["mærke\x00"]),
    ):
        with pytest.raises(InvalidData) as info:
            attempt()
        assert "NUL" in info.value.message("da")
    assert counts(engine) == before


def test_l6_a_nul_character_that_reaches_the_database_is_one_clear_error(
    engine: Engine, auditor: Actor
) -> None:
    # A search filter is not stored, so no check refuses it first: PostgreSQL cannot take it.
    try:
        page = engine.audit.query(auditor, actor="an\x00na")
    except DatabaseRejected as exc:
        assert engine.store.dialect == "postgresql"
        assert "NUL" in exc.message("da")
    else:
        assert page.records == []


@pytest.mark.sqlite_only
def test_l6_db_pointing_at_a_file_that_is_no_database_is_one_line(tmp_path: Path) -> None:
    notes = tmp_path / "noter.txt"
    notes.write_text("indkøbsliste\n" * 100, encoding="utf-8")
    for command in (["list"], ["init"], ["note", "1", "x"]):
        line = one_line(invoke("--db", str(notes), "--as", "anna", *command))
        assert line == (
            f"Fejl: Kan ikke forbinde til databasen sqlite:///{notes}: "
            "filen er ikke en database: »file is not a database«"
        )
    assert notes.read_text(encoding="utf-8") == "indkøbsliste\n" * 100


def test_l6_an_unknown_driver_in_the_url_is_one_line() -> None:
    line = one_line(invoke("--db", "mysql+nosuchdriver://anna:hemmelig@localhost/forloeb", "list"))
    assert "ukendt database eller driver 'mysql+nosuchdriver'" in line and "hemmelig" not in line
    line = one_line(invoke("--db", "forloeb://localhost/x", "--lang", "en", "list"))
    assert "unknown database or driver 'forloeb'" in line


@pytest.mark.parametrize("value", ["abc", "-5", "1.5", "99999999999"])
def test_l6_forloeb_access_log_days_abc_is_one_line(db: str, value: str) -> None:
    line = one_line(
        invoke("--db", db, "--as", "revisor", "audit", "access", env={"FORLOEB_ACCESS_LOG_DAYS": value})
    )
    assert line == (
        "Fejl: Ugyldige data: FORLOEB_ACCESS_LOG_DAYS skal være et helt antal dage "
        f"(0 til 36600), ikke {value!r}"
    )


# -- L8: Danish throughout ------------------------------------------------------------------


def test_l8_a_refusal_for_an_action_is_danish_throughout(db: str) -> None:
    e = start_cli(db)
    line = one_line(invoke("--db", db, "audit", "timeline", str(e)))  # the admin "tester" reads no timelines
    assert line == (
        "Fejl: tester (roller: admin) må ikke læse et forløbs tidslinje; "
        "kræver en af: auditor, supervisor, worker."
    )
    en = one_line(invoke("--db", db, "--lang", "en", "audit", "timeline", str(e)))
    assert "may not read a timeline" in en


def _action_phrases() -> set[str]:
    """Every literal action a role or visibility check in the engine names."""
    found: set[str] = set()
    for path in (ROOT / "forloeb" / "engine").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            if node.func.attr in ("role_for", "check_visible", "background", "refused"):
                index = {"role_for": 2, "check_visible": 2, "background": 2, "refused": 1}[node.func.attr]
                if len(node.args) > index and isinstance(node.args[index], ast.Constant):
                    value = node.args[index].value
                    if isinstance(value, str):
                        found.add(value)
    return found


def test_l8_every_action_the_engine_can_refuse_has_danish_words() -> None:
    phrases = _action_phrases()
    assert "read a timeline" in phrases  # the scan finds them
    missing = sorted(p for p in phrases if p not in ACTION_PHRASES and p not in ACTION_LABELS)
    assert missing == []
    for action in phrases:
        da = PermissionDenied("anna", ["worker"], action, ["auditor"]).message("da")
        english = re.findall(r"\b(read|query|write|export|purge|erase|verify|list|show|add|update|run)\b", da)
        assert english == [], da


@pytest.mark.parametrize(
    ("args", "danish", "english"),
    [
        (["fire"], "Fejl: Mangler argumentet 'ID'.", "Error: Missing argument 'ID'."),
        (["show", "1", "--frm"], "Fejl: Tilvalget '--frm' findes ikke.", "Error: No such option '--frm'."),
        (
            ["show", "abc"],
            "Fejl: Ugyldig værdi for 'ID': 'abc' er ikke et gyldigt tal.",
            "Error: Invalid value for 'ID': 'abc' is not a valid integer.",
        ),
        (
            ["audit", "query", "--format", "xml"],
            "Fejl: Ugyldig værdi for '--format': 'xml' er ikke en af 'table', 'json', 'jsonl', 'csv'.",
            "Error: Invalid value for '--format': 'xml' is not one of 'table', 'json', 'jsonl', 'csv'.",
        ),
        (["show", "1", "2"], "Fejl: Uventet ekstra argument (2)", "Error: Got unexpected extra argument (2)"),
        (["bogus"], "Fejl: Kommandoen 'bogus' findes ikke.", "Error: No such command 'bogus'."),
        (
            ["list", "--limit"],
            "Fejl: Tilvalget '--limit' kræver en værdi.",
            "Error: Option '--limit' requires an argument.",
        ),
    ],
)
def test_l8_clicks_usage_errors_are_danish_under_lang_da(
    db: str, args: list[str], danish: str, english: str
) -> None:
    da = invoke("--db", db, *args)
    assert da.exit_code == 2 and danish in da.output, da.output
    assert "Prøv '" in da.output or "Try" not in da.output
    en = invoke("--db", db, "--lang", "en", *args)
    assert en.exit_code == 2 and english in en.output, en.output
    # --lang after the command counts too (read before click parses).
    if not args[-1].startswith("--"):
        again = invoke("--db", db, *args, "--lang", "en")
        assert again.exit_code == 2 and english in again.output, again.output


def test_l8_another_click_program_in_the_same_process_keeps_its_english(db: str) -> None:
    import click

    @click.command()
    @click.argument("x")
    def other(x: str) -> None:
        """Not forloeb."""

    invoke("--db", db, "fire")  # a Danish invocation before
    result = CliRunner().invoke(other, [])
    assert "Missing argument 'X'" in result.output


# -- M5: secure_delete on every connection --------------------------------------------------


def test_m5_secure_delete_is_set_even_where_the_library_defaults_to_off() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("PRAGMA secure_delete=OFF")  # as an upstream SQLite build has it
    sqlite_setup(conn, ("synchronous=FULL",), wal=False)
    assert conn.execute("PRAGMA secure_delete").fetchone() == (1,)
    conn.close()


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "purge-access", "--days", "99999999999", "--yes"],
        ["audit", "purge-access", "--records-years", "1e300", "--yes"],
        ["retention", "purge", "--older-than-years", "99999999999", "--yes"],
        ["retention", "purge-outbox", "--older-than-days", "99999999999", "--yes"],
    ],
)
def test_huge_retention_periods_are_one_line_and_write_nothing(tmp_path: Path, args: list[str]) -> None:
    """A period beyond a century was an OverflowError traceback (issue 12)."""
    url = f"sqlite:///{tmp_path / 'f.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", url, "init"]).exit_code == 0
    with Engine.open(url) as eng:
        before = eng.row_counts()
    result = runner.invoke(cli, ["--db", url, "--lang", "da", "--as", "leder", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    with Engine.open(url) as eng:
        assert eng.row_counts() == before


def test_engine_retention_bounds(engine: Engine) -> None:
    from datetime import timedelta

    with pytest.raises(InvalidData):
        engine.audit.purge_access(READER, retention=timedelta(days=10**8))
    with pytest.raises(InvalidData):
        engine.purge_closed(older_than_years=10**6, actor=READER)
