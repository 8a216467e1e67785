"""Harbor filter semantics: the doublestar v1 matcher, filter combination, destination naming."""

from __future__ import annotations

import bracex
import pytest
from hypothesis import assume, given, settings
from wcmatch import glob as wcglob

from syncd.core.filters import (
    MappingError,
    destination_name,
    repository_selected,
    select_tags,
    tag_filter_passes,
)
from syncd.core.glob import glob_match
from syncd.core.model import Artifact, Filter
from tests.core.strategies import glob_patterns, glob_texts

# doublestar v1 with "/" as separator: ``**`` components, ``{}`` groups, dot files are plain
# names, case-sensitive everywhere (CASE pins it independently of the platform).
WCMATCH_FLAGS = wcglob.GLOBSTAR | wcglob.BRACE | wcglob.DOTGLOB | wcglob.CASE


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        # Harbor's own table, src/pkg/reg/util/pattern_test.go
        ("", "library", True),
        ("", "library/hello-world", True),
        ("*", "library", True),
        ("*", "library/hello-world", False),
        ("**", "library/hello-world", True),
        ("{library,harbor}/**", "library/hello-world", True),
        ("{library,harbor}/**", "harbor/hello-world", True),
        ("{library,harbor}/**", "other/hello-world", False),
        ("1.?", "1.0", True),
        ("1.?", "1.01", False),
        ("v2.[4-6].*", "v2.4.0", True),
        ("v2.[4-6].*", "v2.7.0", False),
        # name filters see the full name including the project
        ("library/*", "library/nginx", True),
        ("library/*", "library/sub/app", False),
        ("library/**", "library/sub/app", True),
        ("*", "nginx", True),
        # ``**`` components
        ("**/app", "app", True),
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b", True),
        ("a/**", "a", False),
        ("a/**", "a/b/c", True),
        ("foo**", "foobar", True),
        ("foo**", "foo/bar", False),
        # classes, alternatives, escapes, anchoring, case
        ("[a-c]x", "bx", True),
        ("[^a]x", "ax", False),
        ("[^a]x", "bx", True),
        ("{a,{b,c}}d", "cd", True),
        ("{a/b,c}/d", "a/b/d", True),
        ("v\\*", "v*", True),
        ("v\\*", "v1", False),
        ("lib", "library", False),
        ("Lib", "lib", False),
        ("?", "/", False),
    ],
)
def test_glob_table(pattern, text, expected):
    """Each documented doublestar/Harbor case matches as Harbor does."""
    assert glob_match(pattern, text) is expected


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("[!a]x", "bx", False),  # v1 negates with ^ only: [!a] is the class {!, a}
        ("[!a]x", "!x", True),
        ("{a}", "a", True),  # a one-option group is still a group in doublestar
        ("a***", "a", False),  # a final run of 3+ stars is not "zero length" in v1
        ("a***", "ab", True),
        ("{**,x}/y", "a/b/y", False),  # ``**`` produced inside a group is a plain star
        ("{**,x}/y", "a/y", True),
        ("{a,b/**}/c", "b/x/y/c", True),  # a later ``**`` component of an option is a globstar
    ],
)
def test_doublestar_v1_quirks_where_wcmatch_differs(pattern, text, expected):
    """The matcher follows doublestar v1 where shells and wcmatch behave differently."""
    assert glob_match(pattern, text) is expected


@pytest.mark.parametrize("pattern", ["[a", "{a,b", "[]", "a\\", "[-a]", "[a-]"])
def test_malformed_pattern_never_matches(pattern):
    """A malformed pattern matches nothing (Harbor would fail the execution)."""
    assert not glob_match(pattern, "a")
    assert not glob_match(pattern, pattern)


def _same_shape_after_expansion(pattern: str) -> bool:
    """Exclude the documented group quirks: groups yielding ``**``/empty/``***`` components."""
    components = pattern.split("/")
    for expanded in bracex.expand(pattern, keep_escapes=True):
        parts = expanded.split("/")
        if len(parts) != len(components):
            return False
        for original, part in zip(components, parts, strict=True):
            if not part or "***" in part or (original == "**") != (part == "**"):
                return False
    return True


@settings(max_examples=400, deadline=None)
@given(glob_patterns, glob_texts)
def test_glob_agrees_with_wcmatch_oracle(pattern, text):
    """On the common subset, the hand-written matcher agrees with wcmatch's globmatch."""
    assume(_same_shape_after_expansion(pattern))
    assert glob_match(pattern, text) is wcglob.globmatch(text, pattern, flags=WCMATCH_FLAGS)


@pytest.mark.parametrize(
    ("filters", "name", "expected"),
    [
        ((), "library/nginx", True),
        ((Filter("name", "library/**"),), "library/nginx", True),
        ((Filter("name", "library/**"),), "team/nginx", False),
        ((Filter("name", "library/**"), Filter("name", "**/nginx")), "library/nginx", True),
        ((Filter("name", "library/**"), Filter("name", "**/nginx")), "library/redis", False),
        ((Filter("tag", "v1"), Filter("resource", "image")), "any/thing", True),
    ],
)
def test_repository_selected_ands_name_filters(filters, name, expected):
    """Every name filter must match; other filter types do not select repositories."""
    assert repository_selected(filters, name) is expected


ART = Artifact(
    digest="sha256:1", tags=frozenset({"v1.0", "v1.1", "latest"}), labels=frozenset({"prod"})
)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ((), {"v1.0", "v1.1", "latest"}),
        ((Filter("tag", "v1.*"),), {"v1.0", "v1.1"}),
        ((Filter("tag", "v1.*", "matches"),), {"v1.0", "v1.1"}),
        ((Filter("tag", "v1.*", "excludes"),), {"latest"}),
        ((Filter("tag", "v1.*"), Filter("tag", "*.1", "excludes")), {"v1.0"}),
        ((Filter("tag", ""),), {"v1.0", "v1.1", "latest"}),
        ((Filter("label", ("prod",)),), {"v1.0", "v1.1", "latest"}),
        ((Filter("label", ("prod", "gold")),), set()),
        ((Filter("label", ("prod",), "excludes"),), set()),
        ((Filter("label", ("prod", "gold"), "excludes"),), {"v1.0", "v1.1", "latest"}),
        ((Filter("label", ()),), {"v1.0", "v1.1", "latest"}),
        ((Filter("name", "nothing/**"),), {"v1.0", "v1.1", "latest"}),
    ],
)
def test_select_tags(filters, expected):
    """Tag filters keep matching (or non-matching) tags; label filters keep all-or-nothing."""
    assert select_tags(filters, ART) == expected


def test_untagged_artifacts_yield_no_tags():
    """Untagged artifacts contribute nothing: syncd compares tags only."""
    assert select_tags((Filter("tag", "**"),), Artifact(digest="sha256:2")) == frozenset()


def test_tag_filter_passes_ignores_labels():
    """The per-tag check applies tag filters only (labels are not on the destination)."""
    filters = (Filter("tag", "v*"), Filter("label", ("gold",)))
    assert tag_filter_passes(filters, "v2")
    assert not tag_filter_passes(filters, "latest")


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        # stage.go's replaceNamespace comment table
        (-1, "n/image"),
        (0, "n/a/b/c/image"),
        (1, "n/b/c/image"),
        (2, "n/c/image"),
        (3, "n/image"),
    ],
)
def test_destination_name_stage_go_table(count, expected):
    """Harbor's replaceNamespace table for a/b/c/image into namespace n."""
    assert destination_name("a/b/c/image", namespace="n", replace_count=count) == expected


def test_destination_name_too_large_count_raises():
    """A count beyond the source's path components is Harbor's 400 error."""
    with pytest.raises(MappingError, match="flattening level is 4"):
        destination_name("a/b/c/image", namespace="n", replace_count=4)


@pytest.mark.parametrize(
    ("repository", "namespace", "count", "expected"),
    [
        ("library/nginx", "", 3, "library/nginx"),
        ("library/nginx", "mirror", -1, "mirror/nginx"),
        ("library/nginx", "mirror/", 0, "mirror/library/nginx"),
        ("library/nginx", "a//b", 1, "a/b/nginx"),
    ],
)
def test_destination_name_cases(repository, namespace, count, expected):
    """Empty namespace keeps the name; the result is cleaned like Go's path.Join."""
    assert destination_name(repository, namespace=namespace, replace_count=count) == expected


def test_destination_name_needs_two_components():
    """A result with a single component is rejected like Harbor's AtLeastTwo check."""
    with pytest.raises(MappingError, match="at least 2"):
        destination_name("library/nginx", namespace=".", replace_count=-1)
