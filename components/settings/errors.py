"""The two errors of settings: one for the user, one for a rule that names a key below its model."""

from __future__ import annotations


class SettingsError(ValueError):
    """Stack configuration is invalid; ``problems`` holds one line per bad value."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid stack configuration:\n  " + "\n  ".join(problems))


class KeyedError(ValueError):
    """A model-level error that belongs to one key below the model.

    Raised inside a pydantic validator, it reaches ``messages.validate`` as the error's
    context, which appends ``loc`` to the model's own location to name the full key.
    """

    def __init__(self, loc: tuple[str | int, ...], message: str):
        self.loc = loc
        self.message = message
        super().__init__(message)
