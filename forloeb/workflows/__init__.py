"""The two Vollsmose methods as workflow definitions."""

from .civil_society import CIVIL_SOCIETY
from .individual_course import INDIVIDUAL_COURSE

# What ``Engine.open`` registers unless told otherwise.
BUILTIN = (INDIVIDUAL_COURSE, CIVIL_SOCIETY)

__all__ = ["BUILTIN", "CIVIL_SOCIETY", "INDIVIDUAL_COURSE"]
