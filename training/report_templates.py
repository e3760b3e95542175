"""The HTML report's templates: Jinja2 with autoescaping on, so every value is escaped unless it is ``Markup``
(the page's own CSS, the chart data URIs, and fragments these templates rendered themselves).

Templates are strings in this module (no package data to ship); each renders one fragment without newlines, so the
page stays one line as before. ``render(name, **values)`` returns ``Markup``. Links (Label Studio task addresses)
become ``href`` only when they are http(s) addresses (``safe_href``); any other is shown as text, not linked.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from jinja2 import DictLoader, Environment, StrictUndefined
from markupsafe import Markup

TEMPLATES = {
    "page": (
        '<!doctype html><html><head><meta charset="utf-8"><title>Report for {{ round }}</title>'
        "<style>{{ style }}</style></head><body><h1>Report for {{ round }}</h1>"
        "<p>Evaluated on {{ evaluated_on }} ({{ sentences }} sentences), seqeval strict IOB2.</p>"
        "{% if gate %}<p><b>{{ gate.verdict }}</b>: {{ gate.reason }}</p>{% endif %}"
        "{% if trained %}<p class=\"trained\">{{ trained }}</p>{% endif %}"
        "{% if windows %}<p>{{ windows }}</p>{% endif %}"
        '<p class="jump">Jump to: {% for anchor, text in jumps %}{% if not loop.first %} · {% endif %}'
        '<a href="#{{ anchor }}">{{ text }}</a>{% endfor %}</p>'
        "<h2>Scores</h2><table><tr><th>entity</th><th>precision</th><th>recall</th><th>F1</th>"
        "<th>support</th><th>ΔF1</th></tr>"
        "{% for row in rows %}<tr>{% if row.avg %}<th>{{ row.name }} avg</th>{% else %}<td>{{ row.name }}</td>"
        '{% endif %}{% for value in row.scores %}<td class="n">{{ value }}</td>{% endfor %}'
        '<td class="n">{{ row.support }}</td>{% if row.delta is none %}<td></td>{% else %}'
        '<td class="n {{ row.delta_class }}">{{ row.delta }}</td>{% endif %}</tr>{% endfor %}'
        "</table><p>Token accuracy: {{ token_accuracy }}</p><h2>Delta</h2>"
        "{% if previous %}<p>Against {{ previous.round }} (micro F1 {{ previous.micro_f1 }}): "
        "{{ previous.delta }} points.</p>{% else %}<p>No previous promoted round to compare with.</p>{% endif %}"
        '<h2>Per-entity F1</h2><img alt="per-entity F1" src="{{ f1_chart }}">'
        '<h2>Confusion matrix</h2><img alt="confusion matrix" src="{{ confusion_chart }}">'
        "{{ history }}{{ agreement }}{{ label_issues }}{{ errors }}</body></html>\n"),
    "marks": (
        "{% for piece in pieces %}{% if piece.label is none %}{{ piece.text }}{% else %}"
        '<mark class="{{ piece.css }}" data-label="{{ piece.label }}" style="background:{{ piece.colour }}">'
        '{{ piece.text }}<span class="tag">{{ piece.label }}</span></mark>{% endif %}{% endfor %}'),
    "link": '{% if href %}<a href="{{ href }}">{{ text }}</a>{% else %}{{ text }}{% endif %}',
    "errors": (
        '<h2 id="errors">Errors by sentence</h2><p>Counts: {{ counts }}. Spans only one line has are outlined.</p>'
        "{% for block in blocks %}"
        '<div class="sentence"><p class="src">{% if block.link %}<a class="task" href="{{ block.link }}">'
        "{{ block.source }}</a> (open in Label Studio){% else %}{{ block.source }}{% endif %}</p>"
        '{% if block.lines %}{% for which, marked in block.lines %}<p class="line {{ which }}">'
        '<span class="which">{{ which }}</span>{{ marked }}</p>{% endfor %}'
        '{% else %}<p class="line">{{ block.text }}</p>{% endif %}'
        '<ul class="errors">{% for error in block.errors %}<li>{{ error }}</li>{% endfor %}</ul></div>'
        "{% endfor %}"
        '{% if hidden %}<p class="hidden">… and {{ hidden }} more sentence(s) with errors not shown.</p>{% endif %}'),
    "agreement": (
        '<h2 id="agreement">Annotator agreement</h2><p>{{ tasks_compared }} task(s) with two or more annotations '
        "compared.</p><table><tr><th>annotators</th><th>tasks</th><th>span F1</th><th>token kappa</th></tr>"
        '{% for p in pairs %}<tr><td>{{ p.who }}</td><td class="n">{{ p.tasks }}</td><td class="n">{{ p.f1 }}</td>'
        '<td class="n">{{ p.kappa }}</td></tr>{% endfor %}'
        "</table><table><tr><th>label</th><th>span F1</th><th>matched</th></tr>"
        '{% for label, f1, matched in labels %}<tr><td>{{ label }}</td><td class="n">{{ f1 }}</td>'
        '<td class="n">{{ matched }}</td></tr>{% endfor %}</table>'
        '{% if disagreements %}<h3>Disagreements</h3><ul class="disagreements">{% for d in disagreements %}'
        "<li>{{ d.task }}: {{ d.a }} only: {{ d.only_a }}; {{ d.b }} only: {{ d.only_b }}</li>{% endfor %}</ul>"
        "{% if more %}<p>… and {{ more }} more disagreement(s).</p>{% endif %}{% endif %}"),
    "history_svg": (
        '<svg class="{{ css_class }}" width="{{ width }}" height="{{ height }}" viewBox="0 0 {{ width }} {{ height }}" '
        'role="img" aria-label="{{ label }}">'
        '{% for y, tick in ticks %}<line x1="{{ left }}" y1="{{ y }}" x2="{{ right_x }}" y2="{{ y }}" '
        'stroke="#e4e4e4"/><text x="{{ tick_x }}" y="{{ y + 4 }}" font-size="11" text-anchor="end">{{ tick }}</text>'
        '{% endfor %}<polyline fill="none" stroke="#4a7ebb" stroke-width="2" points="{{ polyline }}"/>'
        '{% for p in points %}<circle class="point" data-round="{{ p.name }}" cx="{{ p.x }}" cy="{{ p.y }}" '
        'r="4.5" fill="{{ p.fill }}" stroke="#4a7ebb" stroke-width="2"><title>{{ p.name }}: micro F1 {{ p.f1 }} '
        "({{ p.state }}{{ p.when }})</title></circle>{% if p.axis is not none %}"
        '<text x="{{ p.x }}" y="{{ axis_y }}" font-size="11" text-anchor="middle">{{ p.axis }}</text>{% endif %}'
        '{% endfor %}<text x="{{ caption_x }}" y="{{ height - 4 }}" font-size="11" text-anchor="middle">{{ caption }} '
        "(filled: promoted)</text></svg>"),
    "label_issues": (
        '<h2 id="label-issues">Probable label errors</h2><p>{{ summary }}</p>'
        '{% for issue in issues %}<div class="issue"><p class="src">{{ issue.task }} (score {{ issue.score }}, '
        'annotation{{ issue.who }})</p><p class="line"><span class="which">annotated</span>{{ issue.annotated }}'
        '</p><p class="line"><span class="which">model</span>{{ issue.suggested }}</p></div>{% endfor %}'
        "{% if more %}<p>… and {{ more }} more suspect task(s).</p>{% endif %}"),
}

ENVIRONMENT = Environment(loader=DictLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                          keep_trailing_newline=True)


def render(name: str, **values: Any) -> Markup:
    """One template rendered with ``values`` (escaped unless ``Markup``)."""
    return Markup(ENVIRONMENT.get_template(name).render(**values))


def safe_href(link: str | None) -> str | None:
    """``link`` when it is an http(s) address, else None (a ``javascript:`` or ``data:`` link is never an href)."""
    if not link:
        return None
    try:
        scheme = urlsplit(link.strip()).scheme.lower()
    except ValueError:
        return None
    return link if scheme in ("http", "https") else None
