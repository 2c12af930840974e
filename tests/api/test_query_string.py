"""The query string is read as qs-codec reads it (the ``qs`` library Payload's clients encode
with), in time linear in its length, and what qs would read as nonsense is a clear 400."""

import pytest
import qs_codec
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shop.api.errors import QueryError
from shop.api.query import MAX_ARRAY, MAX_PARAMETERS, QS_OPTIONS, decode_query_string
from tests import sizes

names = st.sampled_from(["where", "a", "b", "status", "in", "or", "0x", "ü b", "a.b", "01", "-1"])
leaves = st.one_of(st.text(max_size=6), st.sampled_from(["", "1", "a,b", "x&y", "[]", "=", "+"]))
# Shaped as a where is: objects, arrays of values (in) and arrays of objects (and / or).
documents = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(leaves, min_size=1, max_size=4),
        st.lists(st.dictionaries(names, inner, min_size=1, max_size=3), min_size=1, max_size=3),
        st.dictionaries(names, inner, min_size=1, max_size=3),
    ),
    max_leaves=12,
)


def arrays_in_arrays(value) -> bool:
    """qs-codec reads a[0][0]=x&a[0][1]=y as [["x"], ["y"]], JavaScript's qs (and we) as
    [["x", "y"]]; no query of the API has an array directly in an array."""
    if isinstance(value, dict):
        return any(arrays_in_arrays(v) for v in value.values())
    if isinstance(value, list):
        return any(isinstance(v, list) or arrays_in_arrays(v) for v in value)
    return False


@settings(max_examples=sizes.examples(quick=100, long=300))
@given(
    document=st.dictionaries(names, documents, min_size=1, max_size=4),
    list_format=st.sampled_from(list(qs_codec.ListFormat)),
    encode_values_only=st.booleans(),
)
def test_what_a_qs_encoder_writes_is_read_as_qs_codec_reads_it(
    document, list_format, encode_values_only
):
    encoded = qs_codec.encode(
        document, qs_codec.EncodeOptions(list_format=list_format, encode=not encode_values_only)
    )
    theirs = qs_codec.decode(encoded, QS_OPTIONS)
    try:
        ours = decode_query_string(encoded)
    except QueryError:
        # Only an encoding that loses the shape (arrays of objects as a[][b]=…) is refused.
        assert theirs != document
        return
    assert ours == theirs


@settings(max_examples=sizes.examples(quick=150, long=500))
@given(st.text(alphabet="ab0123[]=&%5BD+", max_size=30))
def test_any_other_query_string_is_read_as_qs_codec_reads_it_or_refused(raw):
    try:
        ours = decode_query_string(raw)
    except QueryError as error:
        assert "cannot be read" in error.message
        return
    theirs = qs_codec.decode(raw, QS_OPTIONS)
    assume(not arrays_in_arrays(ours) and not arrays_in_arrays(theirs))
    assert ours == theirs


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("where[items][in][]", {"where": {"items": {"in": []}}}),
        ("sort=a&sort=b", {"sort": ["a", "b"]}),
        ("a[1]=x&a[0]=y", {"a": ["y", "x"]}),
        ("a[0]=x&a[]=y", {"a": ["x", "y"]}),
        ("a[][b]=1&a[][c]=2", {"a": [{"b": "1", "c": "2"}]}),
        ("a[0]=x&a[b]=y", {"a": {"0": "x", "b": "y"}}),
        ("where%5Bstatus%5D%5Bequals%5D=paid", {"where": {"status": {"equals": "paid"}}}),
        ("q=a+b%20c", {"q": "a b c"}),
    ],
)
def test_examples_match_qs(raw, expected):
    assert decode_query_string(raw) == expected == qs_codec.decode(raw, QS_OPTIONS)


@pytest.mark.parametrize(
    "raw, message",
    [
        ("a=1&a[b]=2", "a[b] is both a value and an object"),
        (f"a[{MAX_ARRAY}]=1", f"a[{MAX_ARRAY}] has more than {MAX_ARRAY} elements"),
        ("&".join(["a[]=1"] * (MAX_ARRAY + 1)), f"a[] has more than {MAX_ARRAY} elements"),
        ("&".join(f"p{i}=1" for i in range(MAX_PARAMETERS + 1)), "more than 2000 parameters"),
    ],
)
def test_what_qs_would_read_as_nonsense_is_refused(raw, message):
    with pytest.raises(QueryError, match=message.replace("[", r"\[").replace("]", r"\]")):
        decode_query_string(raw)


def test_a_thousand_element_array_is_one_pass(monkeypatch):
    """Each pair is placed once: the work is the pairs' count, not its square (qs-codec's
    decode merged each pair into a copy of the array so far)."""
    from shop.api import query

    placed = []
    put = query._Node.put
    monkeypatch.setattr(query._Node, "put", lambda node, k, v: placed.append(k) or put(node, k, v))
    for count in (10, MAX_ARRAY):
        placed.clear()
        raw = "&".join(f"where[id][in][{i}]={i}" for i in range(count))
        decoded = decode_query_string(raw)
        assert decoded["where"]["id"]["in"] == [str(i) for i in range(count)]
        assert len(placed) == count + 3  # where, id, in, then one put per element
