"""The base of every settings model: camelCase keys, frozen, unknown keys refused, shell-safe text.

``SettingsModel`` runs ``fields.plain_text`` over every plain string a model holds (also
inside lists and maps) after the fields' own rules, so a field added later is covered
without remembering to; secrets and nested models (which check their own strings) are skipped.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ModelWrapValidatorHandler, model_validator
from pydantic.alias_generators import to_camel

from components.settings.errors import KeyedError
from components.settings.fields import AllowChars, plain_text


def _strings(value: Any, loc: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], str]]:
    """Every string in ``value`` with its location: list items by index, map keys and values by key."""
    if isinstance(value, str):
        return [(loc, value)]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in _strings(item, (*loc, index))]
    if isinstance(value, Mapping):
        found = []
        for item_key, item in value.items():
            found += _strings(item_key, loc) + _strings(item, (*loc, str(item_key)))
        return found
    return []


def _holds_model(annotation: Any) -> bool:
    """Whether a field's type contains a settings model (which checks its own strings)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_model(arg) for arg in typing.get_args(annotation))


def _allowed_chars(annotation: Any) -> str:
    """The ``AllowChars`` of a field's type, wherever they sit in it (``SshHostKey | None``)."""
    found = "".join(meta for meta in getattr(annotation, "__metadata__", ()) if isinstance(meta, AllowChars))
    return found + "".join(_allowed_chars(arg) for arg in typing.get_args(annotation))


class SettingsModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        strict=False,
    )

    @model_validator(mode="wrap")
    @classmethod
    def _no_shell_text(cls, data: Any, handler: ModelWrapValidatorHandler) -> Any:
        """Every plain string of every model (also inside lists and maps) passes ``plain_text``; secrets do not.

        The fields' own rules run first (their messages are the more helpful ones); this is
        the safety net for whatever they let through, including fields added later.
        """
        validated = handler(data)
        if isinstance(data, Mapping):
            for name, field in cls.model_fields.items():
                if "SecretStr" in str(field.annotation) or _holds_model(field.annotation):
                    continue
                key = field.alias or name
                allow = _allowed_chars(field.annotation) + "".join(
                    meta for meta in field.metadata if isinstance(meta, AllowChars))
                for loc, text in _strings(data.get(key, data.get(name)), (key,)):
                    try:
                        plain_text(text, allow)
                    except ValueError as error:
                        raise KeyedError(loc, str(error)) from None
        return validated
