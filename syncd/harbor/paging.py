"""Page-number listings that prove themselves complete, for ``HarborSession``.

Owns how a paged list is read: page 1 tells the total (``X-Total-Count``), the other pages are
fetched concurrently under the instance's bound and decoded one by one, and the listing must
prove itself complete (every page announces the same total, rows add up to it, a full last page
is followed by an empty one, no row key repeats) or, after one more try, it raises
``IncompleteListingError``: syncd never acts on, nor caches, a listing it did not fully see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from syncd.errors import IncompleteListingError

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Hashable, Iterable, Mapping

    import httpx

__all__ = ["PAGE_SIZE", "PagedReads"]

PAGE_SIZE = 100
"""Harbor's maximum; larger page sizes are rejected with 422."""
_LISTING_ATTEMPTS = 2
"""A listing that fails its integrity check is taken once more (a push between pages repeats a
row); a second failure makes the observation incomplete."""

T = TypeVar("T")
R = TypeVar("R")


class _Session(Protocol):
    """What paging needs of the session it is mixed into."""

    name: str

    def request(
        self,
        method: str,
        path: str,
        *,
        kind: str,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        allow: Collection[int] = (),
        retry: bool = True,
    ) -> httpx.Response:
        """Send one request."""
        ...

    def map_concurrent(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Run ``fn`` over ``items`` under the instance's concurrency bound."""
        ...

    def decoded(self, response: httpx.Response, decode: Callable[[bytes], R]) -> R:
        """Decode a raw body, naming the request in a protocol error."""
        ...


class PagedReads:
    """Mixin for ``HarborSession``: ``get_all`` over Harbor's page-number pagination."""

    def get_all(
        self: _Session,
        path: str,
        *,
        kind: str,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        decode: Callable[[bytes], list[T]],
        key: Callable[[T], Hashable] | None = None,
    ) -> list[T]:
        """Fetch every item of a paged list by page number, each raw page through ``decode``.

        The ``Link`` header is path-only and carries an *unescaped* query, so it is never
        followed; pages are built from ``page``/``page_size``. Once page 1 told the total
        (``X-Total-Count``) the other pages are fetched concurrently under the instance's
        bound; pages are decoded one by one so raw JSON of a huge listing is never all held.
        The listing must prove itself complete: every page announces the same total, the
        rows add up to it, a full last page is followed by an empty one (an understated
        total), and ``key`` (of decoded rows) never repeats. Otherwise, after one more try
        (a push between pages shifts rows), ``IncompleteListingError``.
        """

        def fetch(page: int) -> tuple[list[T], int | None]:
            query = {**(params or {}), "page": page, "page_size": PAGE_SIZE}
            response = self.request("GET", path, kind=kind, params=query, headers=headers)
            return self.decoded(response, decode), _total_count(response)

        for attempt in range(1, _LISTING_ATTEMPTS + 1):
            items, total = fetch(1)
            problem = PagedReads._complete(self, fetch, items, total)
            if problem is None and key is not None and len(set(map(key, items))) != len(items):
                problem = "a row was listed twice (pages shifted under us)"
            if problem is None:
                return items
            if attempt == _LISTING_ATTEMPTS:
                raise IncompleteListingError(
                    f"instance {self.name}: incomplete listing: {problem}",
                    instance=self.name,
                    method="GET",
                    url=path,
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def _complete(
        self: _Session,
        fetch: Callable[[int], tuple[list[Any], int | None]],
        items: list[Any],
        total: int | None,
    ) -> str | None:
        """Fetch the pages after page 1 into ``items``; say why they are not complete, if so."""
        if total is None:  # no count to plan with: walk the pages until a short one
            batch = items
            while len(batch) >= PAGE_SIZE:
                batch = fetch(len(items) // PAGE_SIZE + 1)[0]
                items.extend(batch)
            return None
        pages = max(1, -(-total // PAGE_SIZE))
        for batch, page_total in self.map_concurrent(fetch, range(2, pages + 1)):
            if page_total != total:
                return f"X-Total-Count moved from {total} to {page_total} between pages"
            items.extend(batch)
        if len(items) != total:
            return f"{len(items)} rows received, X-Total-Count says {total}"
        if total and total % PAGE_SIZE == 0 and fetch(pages + 1)[0]:
            return f"rows beyond the announced X-Total-Count {total}"
        return None


def _total_count(response: httpx.Response) -> int | None:
    try:
        return int(response.headers["X-Total-Count"])
    except (KeyError, ValueError):
        return None
