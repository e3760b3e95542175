"""Label colours: what a label config's ``background`` may hold before it is written into a ``style`` attribute.

A colour is a CSS hex colour (``#rgb``, ``#rgba``, ``#rrggbb``, ``#rrggbbaa``), a CSS colour name (letters only,
e.g. ``darkorange``), or ``rgb()``/``rgba()``/``hsl()``/``hsla()`` of numbers, percentages and separators. Anything
else (``red;background:url(...)``, quotes, angle brackets) is refused, so a colour cannot carry more CSS or HTML.
"""

from __future__ import annotations

import re

from core.errors import ConfigError

_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})"
                     r"|[a-zA-Z]{1,30}"
                     r"|(?:rgb|rgba|hsl|hsla)\(\s*[0-9.%]+(?:\s*[,/ ]\s*[0-9.%]+(?:deg)?){2,3}\s*\)")


def is_colour(value: object) -> bool:
    """Whether ``value`` is a plain CSS colour (see the module docstring)."""
    return isinstance(value, str) and _COLOUR.fullmatch(value) is not None


def checked_colour(value: object, *, label: str, where: str = "label colours") -> str:
    """``value`` when it is a colour; a ConfigError naming the label otherwise."""
    if not is_colour(value):
        raise ConfigError(f"label {label!r} has the colour {value!r}; expected a CSS colour such as #4a8, "
                          "darkorange or rgb(68, 170, 136)", where=where,
                          hint="give the label a plain colour (no ';', quotes, url() or brackets)")
    return str(value)


def safe_colour(value: object, fallback: str = "#ddd") -> str:
    """``value`` when it is a colour, else ``fallback``: for writers that must not fail (the report)."""
    return str(value) if is_colour(value) else fallback
