"""Read and write Label Studio ``<Labels>``/``<Text>`` configs, and derive the BIO tag set from them.

The label set is read from the config and nowhere else: the BIO tags (``O``, then ``B-X``/``I-X`` per label,
labels sorted by name) derive from it, so ids do not change when someone reorders the labels in the UI.

Configs come from requests (``/setup``, ``/predict``) as well as files, so they are parsed by ``defusedxml`` with
document type declarations refused: no entity is ever expanded (a "billion laughs" config is a ``ConfigError`` at its
``<!DOCTYPE``, before any expansion) and no external resource is fetched. Label Studio's own configs never carry one.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from core.errors import ConfigError
from labeling_config.colours import checked_colour

RESTAURANT_CONFIG = Path(__file__).with_name("restaurant.xml")

# Colours used when generating a config for a label list that brings none of its own.
PALETTE = (
    "red", "darkorange", "orange", "green", "darkblue", "blue", "purple", "#842",
    "teal", "brown", "magenta", "olive", "navy", "maroon", "#4a8", "#c60",
)
_LABEL_NAME = re.compile(r"^\S+$")


@dataclass(frozen=True)
class LabelConfig:
    """What nerloop needs from a labeling config: the entity labels and the names that tie results to data."""

    labels: tuple[str, ...]
    from_name: str = "label"
    to_name: str = "text"
    data_key: str = "text"

    @property
    def tags(self) -> tuple[str, ...]:
        """The IOB2 tag list: ``O`` first, then ``B-X``, ``I-X`` for each label in name order."""
        return ("O", *(f"{prefix}-{label}" for label in sorted(self.labels) for prefix in ("B", "I")))

    @property
    def tag2id(self) -> dict[str, int]:
        return {tag: i for i, tag in enumerate(self.tags)}

    @property
    def id2tag(self) -> dict[int, str]:
        return dict(enumerate(self.tags))


def parse_config(xml: str, *, source: str = "<label config>") -> LabelConfig:
    """Read the first ``<Labels>`` control whose ``toName`` is a ``<Text>`` object.

    Raises ConfigError naming ``source`` when there is no such pair, a label repeats, or a label has
    whitespace (BIO tags and the CONLL2003 export are whitespace separated).
    """
    try:
        root = SafeET.fromstring(xml, forbid_dtd=True)
    except ET.ParseError as exc:
        raise ConfigError(f"not well-formed XML ({exc})", where=source,
                          hint="fix the XML or export the config again from Label Studio") from exc
    except DefusedXmlException as exc:
        found = f"<!DOCTYPE {exc.name}>" if getattr(exc, "name", None) else type(exc).__name__
        raise ConfigError(f"found a document type declaration {found}; expected a Label Studio config without one "
                          "(its entities are never expanded)", where=source,
                          hint="remove the <!DOCTYPE ...> and its <!ENTITY ...> declarations") from exc
    texts = {el.get("name"): el.get("value", "") for el in root.iter("Text") if el.get("name")}
    for labels_el in root.iter("Labels"):
        to_name = labels_el.get("toName", "")
        if to_name in texts:
            return _config_from(labels_el, to_name, texts[to_name], source)
    found = "no <Labels>" if not any(True for _ in root.iter("Labels")) else "no <Labels> whose toName is a <Text>"
    raise ConfigError(f"found {found}; expected a <Labels name=... toName=T> and a <Text name=T value=$key>",
                      where=source, hint="use `nerloop config --labels A,B,C` to generate a valid config")


def _config_from(labels_el: ET.Element, to_name: str, value: str, source: str) -> LabelConfig:
    from_name = labels_el.get("name")
    if not from_name:
        raise ConfigError("the <Labels> element has no name attribute", where=source,
                          hint='add name="label" to <Labels>')
    if not value.startswith("$") or len(value) < 2:
        raise ConfigError(f"<Text name={to_name!r}> has value={value!r}; expected '$' and a data key such as $text",
                          where=source, hint='write value="$text"')
    labels: list[str] = []
    for label_el in labels_el.iter("Label"):
        name = label_el.get("value", "")
        if not _LABEL_NAME.match(name):
            raise ConfigError(f"label {name!r} is empty or contains whitespace; BIO tags need one word",
                              where=f"{source}, <Labels name={from_name!r}>",
                              hint=f"rename it, e.g. {name.strip().replace(' ', '_') or 'Label'!r}")
        if name in labels:
            raise ConfigError(f"label {name!r} appears twice", where=f"{source}, <Labels name={from_name!r}>",
                              hint="remove the duplicate <Label>")
        labels.append(name)
    if not labels:
        raise ConfigError(f"<Labels name={from_name!r}> has no <Label> children", where=source,
                          hint='add <Label value="..."/> elements')
    return LabelConfig(labels=tuple(labels), from_name=from_name, to_name=to_name, data_key=value[1:])


def load_config(path: str | Path) -> LabelConfig:
    """Read a config file; errors name the file."""
    path = Path(path)
    try:
        xml = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the config ({exc})", where=str(path),
                          hint="pass a UTF-8 Label Studio XML config") from exc
    return parse_config(xml, source=str(path))


def render_config(labels: list[str] | tuple[str, ...], *, colors: dict[str, str] | None = None,
                  from_name: str = "label", to_name: str = "text", data_key: str = "text") -> str:
    """Write a ``<Labels>``/``<Text>`` config for any label list (validated by parsing it back; a ``colors`` value
    that is not a plain CSS colour is a ConfigError)."""
    colors = colors or {}
    lines = ["<View>", f"  <Labels name={quoteattr(from_name)} toName={quoteattr(to_name)}>"]
    for i, label in enumerate(labels):
        color = checked_colour(colors.get(label, PALETTE[i % len(PALETTE)]), label=label, where="generated config")
        lines.append(f"    <Label value={quoteattr(label)} background={quoteattr(color)}/>")
    lines += ["  </Labels>", f"  <Text name={quoteattr(to_name)} value={quoteattr('$' + data_key)}/>", "</View>", ""]
    xml = "\n".join(lines)
    parse_config(xml, source="generated config")
    return xml


def restaurant_config() -> LabelConfig:
    """The demo config shipped with nerloop (MIT Restaurant labels)."""
    return load_config(RESTAURANT_CONFIG)
