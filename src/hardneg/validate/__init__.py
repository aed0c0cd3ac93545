"""Validation: judges re-score mined candidates, rules drop suspected false negatives, an audit keeps every drop."""

from hardneg.validate.core import ValidationResult, validate
from hardneg.validate.judges import make_judge
from hardneg.validate.spec import parse_judge, parse_rule

__all__ = ["ValidationResult", "make_judge", "parse_judge", "parse_rule", "validate"]
