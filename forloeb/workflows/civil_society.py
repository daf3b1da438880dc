"""Civilsamfund: the secretariat's engagement with a group, association or partner."""

from forloeb.engine import Label

from ._method import build
from ._method import choice as _src

CIVIL_SOCIETY = build(
    name="civil_society",
    labels=Label(da="Civilsamfund", en="Civil-society engagement"),
    own_path=Label(da="Aktørens vej", en="The actor's path"),
    who=Label(da="aktøren", en="the actor"),
    referral_sources=(
        _src("beboere", "Beboere", "Residents"),
        _src("grupper", "Grupper", "Groups"),
        _src("foreninger", "Foreninger", "Associations"),
        _src("samarbejdspartner", "Samarbejdspartner", "Partner"),
    ),
)
