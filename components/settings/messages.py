"""Error formatting: pydantic's errors turned into one line per bad value, each naming its full config key."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from components.i18n import _
from components.settings.errors import KeyedError, SettingsError
from components.settings.facts import NAMESPACE, STACK_FILE
from components.settings.server import SERVER_MODES
from components.settings.stack import Settings


def _key_path(loc: tuple[str | int, ...]) -> str:
    path = ""
    for index, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
        elif index > 0 and part in SERVER_MODES and loc[index - 1] == "server":
            continue  # pydantic's discriminated-union branch, not a config key
        else:
            path += f".{part}" if path else part
    return f"{NAMESPACE}:{path}"


def _bounds(loc: tuple) -> str:
    """The ge/le limits of the field at ``loc``, for an out-of-range message."""
    model: Any = Settings
    info = None
    for part in loc:
        if isinstance(part, int) or part in SERVER_MODES:
            if part in SERVER_MODES:
                model = SERVER_MODES[part]
            continue
        fields = {f.alias or name: f for name, f in model.model_fields.items()}
        info = fields.get(part)
        if info is None:
            return _("a smaller or larger value")
        annotation = info.annotation
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                model = candidate
    low = high = None
    for meta in getattr(info, "metadata", []):
        low = getattr(meta, "ge", low)
        high = getattr(meta, "le", high)
    return f"{low}..{high}"


def _known_keys(loc: tuple) -> list[str]:
    """The setting names of the model that holds the key at ``loc`` (for a "did you mean")."""
    model: Any = Settings
    for part in loc[:-1]:
        if part in SERVER_MODES:
            model = SERVER_MODES[part]
            continue
        if isinstance(part, int):
            continue
        fields = {f.alias or name: f for name, f in model.model_fields.items()}
        info = fields.get(part)
        if info is None:
            return []
        annotation = info.annotation
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                model = candidate
                break
        else:
            return []
    return [f.alias or name for name, f in model.model_fields.items() if name != "stack"]


def _did_you_mean(loc: tuple) -> str:
    match = difflib.get_close_matches(str(loc[-1]), _known_keys(loc), n=1, cutoff=0.6) if loc else []
    return _("did you mean `{key}`? ").format(key=match[0]) if match else ""


def _describe(error: dict[str, Any]) -> tuple[tuple, str]:
    loc = tuple(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "value_error" and isinstance(ctx.get("error"), KeyedError):
        keyed: KeyedError = ctx["error"]
        return loc + keyed.loc, keyed.message
    value = error.get("input")
    if kind == "missing":
        return loc, _("is required")
    if kind == "extra_forbidden":
        return loc, _("is not a known setting ({did_you_mean}check the spelling; see README: Stack settings)").format(
            did_you_mean=_did_you_mean(loc))
    if kind == "literal_error":
        return loc, _("{value!r} is not allowed; expected {expected}").format(value=value, expected=ctx.get("expected"))
    if kind == "union_tag_invalid":
        return loc + ("mode",), _("{value!r} is not allowed; expected 'cvm' or 'existing'").format(value=ctx.get("tag"))
    if kind == "union_tag_not_found":
        return loc + ("mode",), _("is required: 'cvm' or 'existing'")
    if kind in ("greater_than_equal", "less_than_equal"):
        bounds = _bounds(loc)
        return loc, _("{value!r} is out of range; allowed {bounds}").format(value=value, bounds=bounds)
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return loc, _("{value!r} is not a whole number").format(value=value)
    if kind in ("bool_parsing", "bool_type"):
        return loc, _("{value!r} is not true or false").format(value=value)
    if kind in ("string_type",):
        written = getattr(value, "text", None)  # sources.YamlNumber: a float as the stack file wrote it
        if written is not None:
            return loc, _("{written} is read by YAML as the number {number!r}, not text; quote it: "
                          "{key}: \"{written}\"").format(written=written, number=float(value), key=loc[-1])
        return loc, _("{value!r} is not a string").format(value=value)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return loc, _("{value!r} is not an object with keys").format(value=value)
    if kind in ("list_type", "tuple_type", "set_type", "frozen_set_type"):  # tuple: a list setting read as a tuple
        return loc, _("{value!r} is not a list").format(value=value)
    if kind == "too_short":
        return loc, _("must not be empty")
    message = error["msg"]
    message = message.removeprefix("Value error, ")
    return loc, message


def validate(raw: Mapping[str, Any]) -> Settings:
    """Validate a dict of camelCase settings (plus ``stack``); raise SettingsError."""
    try:
        return Settings.model_validate(dict(raw))
    except ValidationError as exc:
        problems = []
        stack_file = f"stacks/Pulumi.{raw.get('stack')}.yaml"
        for error in exc.errors(include_url=False):
            loc, message = _describe(error)
            problems.append(f"{_key_path(loc)}: {message.replace(STACK_FILE, stack_file)}")
        raise SettingsError(problems) from None
