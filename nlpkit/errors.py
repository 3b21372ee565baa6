"""Errors meant for the end user.

Every message is one line that names the problem and, where there is one, the next step.
The CLI prints ``error: <message>`` on stderr and exits with ``exit_code``.
"""

from __future__ import annotations


class NlpkitError(Exception):
    """Base class: a problem the user can fix (bad input, bad option, broken artefact)."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message}; {hint}")


class ConfigError(NlpkitError):
    """An option or hyperparameter has a value that cannot work."""


class CorpusError(NlpkitError):
    """Input text is missing, empty, unreadable or not text."""


class ArtifactError(NlpkitError):
    """A model directory is missing, incomplete, corrupt, of the wrong kind or too new."""


class LockError(NlpkitError):
    """Another job is writing to the same output directory."""


class DeviceError(NlpkitError):
    """The requested device is not available."""
