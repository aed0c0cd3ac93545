"""Review suspected false negatives in a local web page, and feed the decisions back into validation."""

from hardneg.review.labels import LABELS, read_review

__all__ = ["LABELS", "read_review"]
