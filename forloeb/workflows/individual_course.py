"""Individuelle forløb: the secretariat's course with one resident."""

from forloeb.engine import Label

from ._method import build
from ._method import choice as _src

INDIVIDUAL_COURSE = build(
    name="individual_course",
    labels=Label(da="Individuelle forløb", en="Individual course"),
    own_path=Label(da="Beboerens vej", en="The resident's path"),
    who=Label(da="beboeren", en="the resident"),
    referral_sources=(
        _src("uu", "Ungdommens Uddannelsesvejledning (UU)", "Youth guidance centre (UU)"),
        _src("daginstitution", "Daginstitution", "Day-care institution"),
        _src("skole", "Skole", "School"),
        _src("jobcenter", "Jobcenter", "Job centre"),
        _src("socialcenter", "Socialcenter", "Social centre"),
        _src("sagsbehandler", "Sagsbehandler", "Caseworker"),
        _src("boligorganisation", "Boligorganisation", "Housing organisation"),
        _src("beboer_selv", "Beboeren selv", "The resident themselves"),
    ),
)
