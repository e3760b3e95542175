"""The HTML report with hostile texts, label names, links and colours: everything arrives escaped, colours that are
not plain CSS colours never reach a style attribute."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from converters.corpus import Sentence
from core.errors import ConfigError
from labeling_config.colours import is_colour, safe_colour
from labeling_config.config import parse_config, render_config
from training.metrics import score_predictions
from training.report import build_report
from training.report_html import render_html
from training.report_marks import marked_html

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
STYLE_INJECTION = "red;background:url(http://evil.example/x.png)"


@pytest.mark.parametrize(("value", "ok"), [
    ("red", True), ("darkorange", True), ("#842", True), ("#4a8c", True), ("#4a7ebb", True), ("#4a7ebbcc", True),
    ("rgb(68, 170, 136)", True), ("rgba(68,170,136,0.5)", True), ("hsl(120 50% 50%)", True),
    (STYLE_INJECTION, False), ('red" onmouseover="alert(1)', False), ("url(x)", False), ("#12345", False),
    ("expression(alert(1))", False), ("", False), ("red ", False), (None, False), (3, False)])
def test_what_counts_as_a_colour(value, ok):
    assert is_colour(value) is ok
    assert safe_colour(value) == (value if ok else "#ddd")


def test_a_generated_config_refuses_a_colour_that_carries_css():
    with pytest.raises(ConfigError) as info:
        render_config(["Dish"], colors={"Dish": STYLE_INJECTION})
    assert str(info.value) == (
        f"generated config: label 'Dish' has the colour {STYLE_INJECTION!r}; expected a CSS colour such as #4a8, "
        "darkorange or rgb(68, 170, 136) (give the label a plain colour (no ';', quotes, url() or brackets))")


def test_marks_escape_text_and_label_and_grey_out_a_bad_colour():
    text = f"{SCRIPT} {IMG}"
    spans = [(0, len(SCRIPT), IMG), (len(SCRIPT) + 1, len(text), SCRIPT)]
    marked = marked_html(text, spans, {IMG: STYLE_INJECTION, SCRIPT: "#4a7ebb"})
    assert str(marked) == (
        '<mark class="ent" data-label="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" style="background:#ddd">'
        "&lt;script&gt;alert(1)&lt;/script&gt;"
        '<span class="tag">&#34;&gt;&lt;img src=x onerror=alert(1)&gt;</span></mark> '
        '<mark class="ent" data-label="&lt;script&gt;alert(1)&lt;/script&gt;" style="background:#4a7ebb">'
        "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"
        '<span class="tag">&lt;script&gt;alert(1)&lt;/script&gt;</span></mark>')


def test_a_report_full_of_hostile_values_is_escaped_everywhere(tmp_path):
    label = 'Dish"><img'  # a label with no whitespace, as a config allows
    config = parse_config('<View><Labels name="l" toName="t"><Label value="Dish&quot;&gt;&lt;img"/></Labels>'
                          '<Text name="t" value="$text"/></View>')
    assert config.labels == ('Dish"><img',)
    gold = [Sentence((SCRIPT, "pizza", IMG), ("O", f"B-{label}", "O"), f"task 5{IMG}")]
    evaluation = score_predictions(gold, [("B-" + label, "O", "O")], [label])
    report = build_report(f"round-0001{SCRIPT}", evaluation, evaluated_on=f"test{IMG}.tsv",
                          gate={"promoted": False, "reason": IMG}, task_link=f"{IMG}{{task}}",
                          sections={"agreement": {
                              "tasks_compared": 1,
                              "pairs": [{"annotators": [SCRIPT, IMG], "tasks": 1, "span_f1": 0.5, "kappa": 0.1}],
                              "by_label": {label: {"span_f1": 0.5, "matched": 1}},
                              "disagreements": [{"task": 5, "annotators": [SCRIPT, IMG],
                                                 "only_a": [{"label": label, "text": SCRIPT}], "only_b": [],
                                                 "link": f"javascript:{IMG}"}]}})
    text = render_html(report)
    assert "<script" not in text and "onerror=alert(1)>" not in text
    assert text.count("<img") == 2 and text.count('<img alt="') == 2  # the two charts
    page = lxml_html.fromstring(text)
    assert page.xpath("string(//title)") == f"Report for round-0001{SCRIPT}"
    assert [m.get("data-label") for m in page.xpath("//mark")] == [label, label]
    assert all(m.get("style").startswith("background:") and '"' not in m.get("style") for m in page.xpath("//mark"))
    assert page.xpath('//div[@class="sentence"]/p[@class="src"]')[0].text_content() == f"task 5{IMG}"
    assert page.xpath('//ul[@class="disagreements"]/li')[0].text_content() == (
        f"task 5: {SCRIPT} only: {label} “{SCRIPT}”; {IMG} only: nothing")
    assert page.xpath("//table")[1].xpath("string(tr[2]/td[1])") == f"{SCRIPT} / {IMG}"
    assert page.xpath("//p[b]")[0].text_content() == f"Not promoted: {IMG}"
    assert page.xpath("//img/@onerror") == []
    # javascript: and relative task links are shown as text, not linked
    assert page.xpath("//a/@href") == ["#errors", "#history", "#agreement"]
    assert page.xpath('//svg[@class="history"]/circle/@data-round') == [f"round-0001{SCRIPT}"]
