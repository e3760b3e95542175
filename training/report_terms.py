"""Words both report renderers (Markdown in ``training.report``, HTML in ``training.report_html``) use, so neither
imports the other."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ERROR_TITLES = {"false_positive": "false positive", "false_negative": "false negative",
                "wrong_type": "wrong type", "wrong_boundary": "wrong boundary"}


def describe_windows(training: Mapping[str, Any] | None) -> str | None:
    """One sentence on the training texts longer than the window (None when the report does not record it)."""
    windows = (training or {}).get("windows")
    if not windows:
        return None
    if not windows["windowed"]:
        return (f"All {windows['texts']} training texts fit the window ({windows['max_length']} sub-tokens); "
                "none was cut.")
    return (f"{windows['windowed']} of {windows['texts']} training texts were longer than the window "
            f"({windows['max_length']} sub-tokens) and were cut into overlapping windows (stride "
            f"{windows['stride']}; {windows['windows']} model inputs in all); nothing was truncated.")
