"""Label configs: generate, parse back, agree with Label Studio's own LabelInterface, and exact errors."""

from __future__ import annotations

import pytest
from label_studio_sdk.label_interface import LabelInterface

from core.errors import ConfigError
from labeling_config import RESTAURANT_CONFIG, LabelConfig, load_config, parse_config, render_config, restaurant_config

HINT = "use `nerloop config --labels A,B,C` to generate a valid config"


def error(xml: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(xml, source="cfg.xml")
    return str(info.value)


def test_restaurant_config():
    config = restaurant_config()
    assert config == LabelConfig(labels=("Amenity", "Cuisine", "Dish", "Hours", "Location", "Price", "Rating",
                                         "Restaurant_Name"), from_name="label", to_name="text", data_key="text")
    assert config.tags[:5] == ("O", "B-Amenity", "I-Amenity", "B-Cuisine", "I-Cuisine")
    assert len(config.tags) == 17
    assert config.tag2id["B-Restaurant_Name"] == 15
    assert config.id2tag[16] == "I-Restaurant_Name"


def test_tags_are_sorted_by_label_name_whatever_the_config_order():
    assert parse_config(render_config(["Zeta", "Alpha"])).tags == ("O", "B-Alpha", "I-Alpha", "B-Zeta", "I-Zeta")


def test_render_then_parse_back():
    xml = render_config(["Person", "Place"], from_name="ner", to_name="doc", data_key="sentence",
                        colors={"Person": "red"})
    assert xml == ('<View>\n  <Labels name="ner" toName="doc">\n    <Label value="Person" background="red"/>\n'
                   '    <Label value="Place" background="darkorange"/>\n  </Labels>\n'
                   '  <Text name="doc" value="$sentence"/>\n</View>\n')
    assert parse_config(xml) == LabelConfig(("Person", "Place"), "ner", "doc", "sentence")


@pytest.mark.parametrize("xml", [
    RESTAURANT_CONFIG.read_text(encoding="utf-8"),
    render_config(["B", "A"], from_name="ner", to_name="doc", data_key="sentence"),
    '<View><Text name="t1" value="$a"/><Choices name="c" toName="t1"><Choice value="x"/></Choices>'
    '<Labels name="l2" toName="t1"><Label value="X"/></Labels><Text name="t2" value="$b"/>'
    '<Labels name="l3" toName="t2"><Label value="Y"/></Labels></View>',
])
def test_agrees_with_label_studio_label_interface(xml):
    config = parse_config(xml)
    interface = LabelInterface(xml)
    assert interface.get_first_tag_occurence("Labels", "Text") == (config.from_name, config.to_name, config.data_key)
    assert tuple(interface.get_control(config.from_name).labels) == config.labels


def test_load_config_reads_a_file(tmp_path):
    path = tmp_path / "c.xml"
    path.write_text(render_config(["Dish"]), encoding="utf-8")
    assert load_config(path).labels == ("Dish",)


def test_no_labels():
    assert error('<View><Text name="text" value="$text"/></View>') == (
        f"cfg.xml: found no <Labels>; expected a <Labels name=... toName=T> and a <Text name=T value=$key> ({HINT})")


def test_labels_not_pointing_at_a_text():
    xml = '<View><Labels name="l" toName="img"><Label value="A"/></Labels><Image name="img" value="$i"/></View>'
    assert error(xml) == ("cfg.xml: found no <Labels> whose toName is a <Text>; expected a <Labels name=... toName=T>"
                          f" and a <Text name=T value=$key> ({HINT})")


def test_duplicate_label():
    xml = render_config(["A"]).replace('<Label value="A" background="red"/>',
                                       '<Label value="A"/><Label value="A"/>')
    assert error(xml) == "cfg.xml, <Labels name='label'>: label 'A' appears twice (remove the duplicate <Label>)"


def test_label_with_a_space():
    xml = render_config(["A"]).replace('value="A"', 'value="Restaurant Name"')
    assert error(xml) == ("cfg.xml, <Labels name='label'>: label 'Restaurant Name' is empty or contains whitespace; "
                          "BIO tags need one word (rename it, e.g. 'Restaurant_Name')")
    with pytest.raises(ConfigError):
        render_config(["Restaurant Name"])


def test_not_xml():
    assert error("<View>") == ("cfg.xml: not well-formed XML (no element found: line 1, column 6) "
                               "(fix the XML or export the config again from Label Studio)")


def test_text_value_without_dollar():
    xml = '<View><Labels name="l" toName="t"><Label value="A"/></Labels><Text name="t" value="text"/></View>'
    assert error(xml) == ("cfg.xml: <Text name='t'> has value='text'; expected '$' and a data key such as $text "
                          "(write value=\"$text\")")


def test_labels_without_label_children():
    xml = '<View><Labels name="l" toName="t"></Labels><Text name="t" value="$text"/></View>'
    assert error(xml) == "cfg.xml: <Labels name='l'> has no <Label> children (add <Label value=\"...\"/> elements)"


# Nine levels of ten-fold entities: 10**9 "lol"s (3 GB) if a parser expanded them.
BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n  <!ENTITY lol "lol">\n'
                  + "".join(f'  <!ENTITY lol{i} "{("&lol" + ("" if i == 1 else str(i - 1)) + ";") * 10}">\n'
                            for i in range(1, 10))
                  + ']>\n<View><Labels name="label" toName="text"><Label value="&lol9;"/></Labels>'
                    '<Text name="text" value="$text"/></View>')
DECLARATION_HINT = "remove the <!DOCTYPE ...> and its <!ENTITY ...> declarations"


def test_a_billion_laughs_config_is_refused_at_its_doctype():
    assert error(BILLION_LAUGHS) == (
        "cfg.xml: found a document type declaration <!DOCTYPE lolz>; expected a Label Studio config without one "
        f"(its entities are never expanded) ({DECLARATION_HINT})")


@pytest.mark.parametrize(("xml", "name"), [
    ('<!DOCTYPE View><View><Labels name="l" toName="t"><Label value="A"/></Labels><Text name="t" value="$text"/>'
     '</View>', "View"),
    ('<!DOCTYPE View SYSTEM "http://example.com/evil.dtd"><View/>', "View"),
    ('<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]><View><Labels name="l" toName="t">'
     '<Label value="&secret;"/></Labels><Text name="t" value="$text"/></View>', "x"),
])
def test_any_document_type_declaration_is_refused(xml, name):
    assert error(xml) == (f"cfg.xml: found a document type declaration <!DOCTYPE {name}>; expected a Label Studio "
                          f"config without one (its entities are never expanded) ({DECLARATION_HINT})")
