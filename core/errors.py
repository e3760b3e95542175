"""The one exception family used by every nerloop layer.

It lives in the bottom layer (``core``): every other layer imports it, and it imports nothing of nerloop. Each
error carries *where* (a file and line, a task id, a field), *what* was found, and *what to do*, so the CLI can
print it as one line and the backend can put it in a 4xx ``detail``.
"""

from __future__ import annotations


class NerloopError(Exception):
    """Base of all nerloop errors: a message that names where, what was found, and what to do."""

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        self.where = where
        self.hint = hint
        self.message = message
        super().__init__(self.render())

    def render(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text = f"{text} ({self.hint})"
        return text


class ConfigError(NerloopError):
    """A Label Studio labeling config that nerloop cannot use."""


class InputFormatError(NerloopError):
    """A corpus or export file that cannot be read (bad JSON, wrong columns, bad encoding, ...)."""


class UnknownTagError(InputFormatError):
    """A corpus tag whose label the label config does not have (e.g. a test file made for other labels)."""


class ConversionError(NerloopError):
    """Spans that cannot be converted and were not allowed to be reported and skipped."""


class TrainingError(NerloopError):
    """Training could not run (no data, base model not loadable, bad hyperparameters, ...)."""


class ClusterError(TrainingError):
    """The Ray cluster could not be reached, or the work sent to it failed, was killed or timed out there."""


class RegistryError(NerloopError):
    """The models directory is missing, locked or inconsistent."""


class StudioError(NerloopError):
    """Label Studio could not be reached, started, or answered unexpectedly."""


def where(path: object, line: int | None = None, *, task: object = None, field: str | None = None) -> str:
    """Build the ``where`` part of a message: ``file:line``, ``task 12``, ``field value.start``."""
    parts: list[str] = []
    if path is not None:
        parts.append(f"{path}:{line}" if line is not None else str(path))
    if task is not None:
        parts.append(f"task {task}")
    if field is not None:
        parts.append(f"field {field!r}")
    return ", ".join(parts)
