"""Random list queries, as a Payload client (or anyone) could send them: every list endpoint
answers 200 or a 400 in the one error shape, never a 5xx, whatever the where / sort / depth /
limit / page / joins.

Queries are built as data (nested where trees of valid and invalid paths, operators and values,
and/or, arrays, empty arrays; sort lists; numbers and junk for the rest) and encoded the way the
``qs`` library does (brackets percent-encoded), with raw junk spliced in now and then.
"""

import pytest
import qs_codec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shop.api.collections import Group, Relation, registry
from shop.api.query import OPERATORS, UNSUPPORTED_OPERATORS
from tests import sizes

pytestmark = pytest.mark.django_db

SLUGS = sorted(slug for slug, _collection in registry.routes())


def paths_of(slug: str) -> list[str]:
    """The collection's queryable paths, a few across relations, and near misses."""
    collection = registry.get(slug)
    paths = list(collection.paths)
    for item in collection.fields:
        if isinstance(item, Relation):
            target = registry.get(item.to)
            paths += [f"{item.name}.id", f"{item.name}.{next(iter(target.paths))}"]
            paths += [f"{item.name}.{p}" for p in list(target.paths)[:3]]
        if isinstance(item, Group):
            paths.append(item.name)  # a group itself cannot be queried
    return [*paths, "id", "createdAt", "nope", "items", "password", "a.b.c.d.e", ""]


junk = st.text(max_size=12)
scalars = st.one_of(
    junk,
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(
        ["null", "true", "false", "", "0", "-1", "³", "١", "--1", "1e5", "1.5", "NaN", "\x00"]
    ),
    st.sampled_from(
        ["paid", "pending", "shipped", "2026-11-23", "2026-11-23T02:41:07.215Z", "2026-13-45"]
    ),
    st.datetimes().map(lambda d: d.isoformat()),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.just([]),
    st.dictionaries(st.sampled_from(["0", "1", "x", "³"]), scalars, max_size=3),
)
operators = st.one_of(st.sampled_from(OPERATORS + UNSUPPORTED_OPERATORS), junk)


def where_trees(slug: str):
    path = st.one_of(st.sampled_from(paths_of(slug)), junk)
    condition = st.dictionaries(path, st.one_of(st.dictionaries(operators, values), values))

    def combine(children):
        branches = st.one_of(st.lists(children, max_size=3), st.just([]), children, junk)
        return st.one_of(
            st.fixed_dictionaries({"and": branches}),
            st.fixed_dictionaries({"or": branches}),
            st.dictionaries(st.one_of(st.sampled_from(["and", "or", "AND"]), path), children),
        )

    return st.recursive(condition, combine, max_leaves=8)


numbers = st.one_of(
    st.integers(-5, 2000).map(str),
    st.integers(-(2**70), 2**70).map(str),
    scalars,
    st.lists(st.integers(0, 20).map(str), max_size=2),
)


def sorts(slug: str):
    name = st.sampled_from(paths_of(slug))
    term = st.tuples(st.sampled_from(["", "-", "+", "--"]), st.one_of(name, junk)).map("".join)
    return st.one_of(
        st.lists(term, max_size=4).map(",".join),
        st.lists(term, max_size=3),
        junk,
    )


def joins(slug: str):
    names = [join.name for join in registry.get(slug).joins] or ["items"]
    options = st.dictionaries(
        st.sampled_from(["limit", "page", "sort", "count", "where", "x"]),
        st.one_of(numbers, st.dictionaries(junk, values, max_size=2)),
        max_size=3,
    )
    return st.one_of(
        st.sampled_from(["false", "true", ""]),
        st.dictionaries(st.one_of(st.sampled_from(names), junk), st.one_of(options, junk)),
    )


@st.composite
def query_strings(draw, slug: str) -> str:
    params = {}
    if draw(st.booleans()):
        params["where"] = draw(where_trees(slug))
    for name, strategy in (
        ("sort", sorts(slug)),
        ("depth", numbers),
        ("limit", numbers),
        ("page", numbers),
        ("pagination", st.sampled_from(["true", "false", "0", "maybe"])),
        ("joins", joins(slug)),
    ):
        if draw(st.integers(0, 3)) == 0:
            params[name] = draw(strategy)
    encoded = qs_codec.encode(
        params,
        qs_codec.EncodeOptions(
            allow_empty_lists=draw(st.booleans()),
            list_format=draw(st.sampled_from(list(qs_codec.ListFormat))),
        ),
    )
    if draw(st.integers(0, 9)) == 0:  # raw junk: broken brackets, bad escapes, JSON where
        extra = draw(
            st.sampled_from(
                [
                    "where[",
                    "where]]=1",
                    "where[status][equals]=%ZZ",
                    "where=%7B%22status%22%3A%7B%22equals%22%3A%22paid%22%7D%7D",
                    "where={bad json",
                    "where[or]=x",
                    "where[or][5000][status][equals]=paid",
                    "%00=%00",
                    "depth=%C2%B3",
                    "sort=%00",
                ]
            )
        )
        encoded = f"{encoded}&{extra}" if encoded else extra
    return encoded


@pytest.fixture
def shop_client(demo_shop, staff_client):
    """A staff session over the demo shop (orders in every state, seeded once for the module);
    the requests only read, so every example of a test shares it."""
    return staff_client


@pytest.mark.parametrize("slug", SLUGS)
@settings(
    max_examples=sizes.examples(quick=10, long=40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_random_list_query_is_answered_or_refused_never_a_server_error(shop_client, slug, data):
    query = data.draw(query_strings(slug), label="query")
    response = shop_client.get(f"/api/{slug}?{query}")
    assert response.status_code in (200, 400), (query, response.content[:500])
    body = response.json()
    if response.status_code == 400:
        error = body["errors"][0]
        assert isinstance(error["message"], str) and error["message"]
        assert error.get("name") == "QueryError", body
    else:
        assert isinstance(body["docs"], list) and isinstance(body["totalDocs"], int)
