"""Entity spans shown inline in their sentence, displaCy-ent style: in HTML a coloured ``<mark>`` per span with the
label as a small tag (the ``marks`` template, autoescaped; a colour that is not a plain CSS colour is replaced by
grey); in Markdown ``[text]{Label}`` (not a link). Text is escaped (sentences come from users)."""

from __future__ import annotations

import html
from collections.abc import Collection, Mapping, Sequence

from markupsafe import Markup

from labeling_config.colours import safe_colour
from training.report_templates import render

Span = tuple[int, int, str]  # character start, end, label

MARK_STYLE = ("mark.ent{padding:0.2em 0.35em;margin:0 0.15em;line-height:2;border-radius:0.35em}"
              "mark.ent.off{outline:2px dashed #b00;outline-offset:1px}"
              ".tag{font-size:0.7em;font-weight:bold;text-transform:uppercase;margin-left:0.4em;"
              "vertical-align:middle}")


def _pieces(text: str, spans: Sequence[Span]) -> list[tuple[str, Span | None]]:
    pieces, at = [], 0
    for span in sorted(spans):
        start, end, _label = span
        if start < at:  # overlapping spans cannot be drawn inline; the later one is shown as plain text
            continue
        pieces += [(text[at:start], None), (text[start:end], span)]
        at = end
    return [*pieces, (text[at:], None)]


def marked_html(text: str, spans: Sequence[Span], colours: Mapping[str, str], off: Collection[Span] = ()) -> Markup:
    """The text with each span as ``<mark class="ent" data-label=...>``; spans in ``off`` (those the other line
    lacks) get a dashed red outline."""
    pieces = [{"text": piece, "label": None} if span is None else
              {"text": piece, "label": span[2], "css": "ent off" if span in off else "ent",
               "colour": safe_colour(colours.get(span[2], "#ddd"))}
              for piece, span in _pieces(text, spans)]
    return render("marks", pieces=pieces)


def md_escape(text: str) -> str:
    escaped = html.escape(text, quote=False)
    for char in "[]{|":
        escaped = escaped.replace(char, "\\" + char)
    return escaped


def marked_markdown(text: str, spans: Sequence[Span]) -> str:
    """The text with each span as ``[text]{Label}``; brackets and HTML in the text escaped."""
    return "".join(md_escape(piece) if span is None else f"[{md_escape(piece)}]{{{md_escape(span[2])}}}"
                   for piece, span in _pieces(text, spans))
