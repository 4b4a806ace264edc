"""arXiv identifier parsing: every form a reader pastes, and the near-misses we refuse."""

from __future__ import annotations

import pytest

from digestcli.errors import IdentifierError
from digestcli.ids import parse_arxiv_id, parse_many
from digestcli.models import ArxivId


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2305.17333", ArxivId("2305.17333")),
        ("2305.17333v2", ArxivId("2305.17333", 2)),
        ("arXiv:2305.17333", ArxivId("2305.17333")),
        ("arxiv:2305.17333v3", ArxivId("2305.17333", 3)),
        ("https://arxiv.org/abs/2305.17333", ArxivId("2305.17333")),
        ("http://export.arxiv.org/abs/2305.17333v2", ArxivId("2305.17333", 2)),
        ("https://arxiv.org/pdf/2305.17333v1", ArxivId("2305.17333", 1)),
        ("https://arxiv.org/pdf/2305.17333v1.pdf", ArxivId("2305.17333", 1)),
        ("https://arxiv.org/abs/2305.17333?context=cs.LG", ArxivId("2305.17333")),
        ("hep-th/9901001", ArxivId("hep-th/9901001")),
        ("hep-th/9901001v2", ArxivId("hep-th/9901001", 2)),
        ("https://arxiv.org/abs/hep-th/9901001v1", ArxivId("hep-th/9901001", 1)),
        ("math.GT/0309136", ArxivId("math.GT/0309136")),
        ("math.gt/0309136", ArxivId("math.GT/0309136")),
        ("10.48550/arXiv.2305.17333", ArxivId("2305.17333")),
        ("https://doi.org/10.48550/arXiv.2305.17333", ArxivId("2305.17333")),
        ("0704.0001", ArxivId("0704.0001")),
        ("1412.9999", ArxivId("1412.9999")),
        ("1501.00001", ArxivId("1501.00001")),
        ("  2305.17333\n", ArxivId("2305.17333")),
    ],
)
def test_parse_accepts_every_documented_form(text: str, expected: ArxivId) -> None:
    assert parse_arxiv_id(text) == expected


@pytest.mark.parametrize(
    ("arxiv_id", "versioned", "filename"),
    [
        (ArxivId("2305.17333", 3), "2305.17333v3", "2305.17333"),
        (ArxivId("2305.17333"), "2305.17333", "2305.17333"),
        (ArxivId("hep-th/9901001", 1), "hep-th/9901001v1", "hep-th_9901001"),
    ],
)
def test_arxiv_id_gives_versioned_form_and_slash_free_filename(arxiv_id: ArxivId, versioned: str,
                                                               filename: str) -> None:
    assert arxiv_id.versioned == versioned
    assert str(arxiv_id) == versioned
    assert arxiv_id.filename == filename


@pytest.mark.parametrize(
    "text",
    [
        "2305.1733",  # one digit short
        "2305.173331",  # one digit too many
        "9999.99999",  # month 99
        "2313.12345",  # month 13
        "0703.1234",  # before new-style ids existed
        "1501.1234",  # 2015 ids have five digits
        "1412.12345",  # 2014 ids have four digits
        "2305.17333v0",  # versions start at 1
        "2305.17333v",
        "hep-th/99",
        "hep-th/9913001",  # month 13 in an old-style id
        "https://example.org/abs/2305.17333",
        "https://arxiv.org.example.com/abs/2305.17333",
        "https://notarxiv.org/abs/2305.17333",
        "10.1145/2305.17333",  # another publisher's DOI
        "10.1000/xyz123",
        "arXiv 2305.17333 and more",
    ],
)
def test_parse_rejects_near_misses_naming_the_input(text: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_arxiv_id(text)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_parse_rejects_empty_input_saying_it_is_empty(text: str) -> None:
    with pytest.raises(IdentifierError, match="empty identifier"):
        parse_arxiv_id(text)


def test_parse_many_keeps_one_id_per_paper_given_in_different_forms() -> None:
    ids, errors = parse_many([
        "2305.17333",
        "https://arxiv.org/abs/2305.17333v2",
        "arXiv:2305.17333",
        "10.48550/arXiv.2305.17333",
        "2304.08485",
    ])

    assert ids == [ArxivId("2305.17333"), ArxivId("2304.08485")]
    assert errors == []


def test_parse_many_reports_bad_input_and_keeps_the_others_in_order() -> None:
    ids, errors = parse_many(["2304.08485", "2305.1733", "hep-th/9901001", "https://example.org/x", "2305.17333"])

    assert ids == [ArxivId("2304.08485"), ArxivId("hep-th/9901001"), ArxivId("2305.17333")]
    assert [text for text, _ in errors] == ["2305.1733", "https://example.org/x"]
    for text, error in errors:
        assert isinstance(error, IdentifierError)
        assert repr(text) in str(error)
