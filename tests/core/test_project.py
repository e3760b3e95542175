"""A project reference is parsed once where it enters: ids, names, folder names, what Label Studio sends."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import RegistryError
from core.project import ProjectRef


@pytest.mark.parametrize(("value", "name"), [
    (None, "default"), (3, "3"), ("3", "3"), ("007", "7"), (" 12 ", "12"), ("project-4", "4"),
    ("reviews", "reviews"), ("project-reviews", "reviews"), ("v1.2_b-3", "v1.2_b-3"),
])
def test_values_parse_to_one_canonical_name(value: object, name: str) -> None:
    ref = ProjectRef.parse(value)  # type: ignore[arg-type]
    assert ref == ProjectRef(name)
    assert ProjectRef.parse(ref) is ref


@pytest.mark.parametrize("value", ["", "a b", "../x", "-x", "x" * 65, True])
def test_a_bad_value_names_where_it_came_from(value: object) -> None:
    with pytest.raises(RegistryError) as caught:
        ProjectRef.parse(value, where="field 'project'")  # type: ignore[arg-type]
    assert str(caught.value).startswith(f"field 'project': {value!r} is not a project id or name")


@pytest.mark.parametrize(("sent", "expected"), [
    (12, ProjectRef("12")), ("12.1700000000", ProjectRef("12")), ({"id": 12, "title": "x"}, ProjectRef("12")),
    (None, None), ({"title": "x"}, None), (True, None), ("../etc", None),
])
def test_what_label_studio_sends(sent: object, expected: ProjectRef | None) -> None:
    assert ProjectRef.from_request(sent) == expected


def test_studio_ids_folders_and_order() -> None:
    assert ProjectRef("3").studio_id == 3 and ProjectRef("3").require_studio() == 3
    assert ProjectRef("reviews").studio_id is None
    assert ProjectRef("3").folder == "project-3"
    names = ["reviews", "10", "default", "2"]
    assert sorted(names, key=lambda n: ProjectRef(n).sort_key) == ["2", "10", "default", "reviews"]
    with pytest.raises(RegistryError, match="'reviews' is a named project"):
        ProjectRef("reviews").require_studio()


@given(st.one_of(st.integers(min_value=0, max_value=10**9),
                 st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,40}", fullmatch=True)))
def test_a_parsed_reference_parses_to_itself(value: int | str) -> None:
    ref = ProjectRef.parse(value)
    assert ProjectRef.parse(str(ref)) == ref
    assert ProjectRef.parse(ref.folder) == ref
