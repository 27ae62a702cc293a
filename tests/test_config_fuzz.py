"""Any plant file or point map, however mangled, is refused with an error naming the problem:
never a traceback. Hypothesis replaces one value of a shipped file with a value of any TOML
type (nan and inf included) and checks that only the loaders' own errors come out."""

from __future__ import annotations

import tomllib
from copy import deepcopy
from datetime import date, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.app.cli import main
from controller.config import ConfigError, parse_control
from drivers.pointmap import PointMapError, parse_point_map
from drivers.site import SiteError, parse_site

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
PLANT = DEPLOY / "plants" / "river_20mw.toml"
MAPS = sorted((DEPLOY / "pointmaps").glob("*.toml"))

SCALARS = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(["heat_kw", "heartbeat", "uint16", "float32", "holding", "modbus", "opcua"]),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    st.dates(min_value=date(1900, 1, 1)),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a document a value can be put: each key and list entry, and a new key
    in each table."""
    found: list[tuple[Any, ...]] = []
    if isinstance(node, dict):
        found.append((*prefix, "fuzz_new_key"))
        for key, child in node.items():
            found.append((*prefix, key))
            found.extend(_paths(child, (*prefix, key)))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found.append((*prefix, index))
            found.extend(_paths(child, (*prefix, index)))
    return found


def _replaced(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    copy = deepcopy(document)
    node: Any = copy
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return copy


PLANT_DOC = tomllib.loads(PLANT.read_text())
PLANT_PATHS = _paths(PLANT_DOC)
MAP_DOCS = [tomllib.loads(path.read_text()) for path in MAPS]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(where=st.sampled_from(PLANT_PATHS), value=VALUES)
def test_a_mangled_plant_file_is_refused_with_an_error_not_a_traceback(
    where: tuple[Any, ...], value: Any
) -> None:
    document = _replaced(PLANT_DOC, where, value)
    try:
        site = parse_site(document, "fuzz.toml", str(PLANT.parent))
        site.load_point_maps()
    except (SiteError, PointMapError) as exc:
        assert str(exc)
    control = document.get("control")
    if isinstance(control, dict):
        try:
            parse_control(control, "fuzz.toml")
        except ConfigError as exc:
            assert "fuzz.toml" in str(exc)


@FUZZ
@given(data=st.data(), value=VALUES)
def test_a_mangled_point_map_is_refused_with_an_error_not_a_traceback(
    data: st.DataObject, value: Any
) -> None:
    original = data.draw(st.sampled_from(MAP_DOCS))
    where = data.draw(st.sampled_from(_paths(original)))
    try:
        parse_point_map(_replaced(original, where, value), "fuzz.toml")
    except PointMapError as exc:
        assert str(exc).startswith("fuzz.toml: ")


@settings(max_examples=100, deadline=None)
@given(content=st.binary(max_size=200))
def test_validate_answers_any_bytes_with_ok_or_bad(tmp_path_factory: Any, content: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "file.toml"
    path.write_bytes(content)
    assert main(["validate", str(path)]) in (0, 1)
