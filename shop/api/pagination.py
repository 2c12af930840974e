"""Payload's list envelope: ``{docs, totalDocs, limit, totalPages, page, pagingCounter,
hasPrevPage, hasNextPage, prevPage, nextPage}``, in at most two queries (the page, then the count
only when the page alone cannot tell it)."""

import math

from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from shop.api.errors import QueryError
from shop.api.query import DEFAULT_LIMIT, boolean_param, integer_param, max_limit, request_params


class PayloadPagination(BasePagination):
    """DRF's pagination class for Payload's envelope: ``limit`` (default 10; 0, or
    ``pagination=false`` without a limit, for every match up to the server maximum) and
    ``page`` (from 1). The rows may be a QuerySet or anything that slices and counts like one."""

    def paginate_queryset(self, queryset, request, view=None) -> list:
        params = request_params(request)
        pagination = boolean_param(params, "pagination", True)
        limit = integer_param(params, "limit", default=DEFAULT_LIMIT if pagination else 0)
        page = max(integer_param(params, "page", default=1), 1)
        rows, self.envelope = fetch_page(
            lambda limit, offset: list(queryset[offset : offset + limit]),
            queryset.count,
            limit=min(limit, max_limit()),
            page=page,
        )
        return rows

    def get_paginated_response(self, data) -> Response:
        return Response({"docs": data, **self.envelope})


def fetch_page(rows, count, *, limit: int, page: int):
    """The page's rows and the envelope without ``docs``. ``rows(limit, offset)`` reads rows
    (dicts), ``count()`` counts every match; it runs only when the page cannot tell.

    ``limit`` 0 is every match (``limit=0``, or ``pagination=false`` without a limit), as in
    Payload, up to the server maximum (``API_MAX_LIMIT``): past it the answer is a 400 that says
    to paginate, never a shorter list. With a limit, ``pagination=false`` still answers true
    totals (Payload would count only the page)."""
    if limit == 0:
        found = rows(max_limit() + 1, 0)
        if len(found) > max_limit():
            raise too_many()
        return found, unpaginated(found, limit=0, page=1)
    offset = (page - 1) * limit
    found = rows(limit, offset)
    if offset == 0 and len(found) < limit:
        total = len(found)  # the first page is not full: it holds every match
    elif found and len(found) < limit:
        total = offset + len(found)  # a last page: everything before it was full
    else:
        total = count()
    return found, envelope(total, limit=limit, page=page)


def too_many() -> QueryError:
    most = max_limit()
    return QueryError(
        f"More than {most} documents match: ask for them a page at a time "
        f"(limit and page, at most {most} a page).",
        data=[{"path": "limit", "maximum": most}],
    )


def envelope(total: int, *, limit: int, page: int) -> dict:
    if total == 0:
        return {
            "totalDocs": 0,
            "limit": limit,
            "totalPages": 1,
            "page": page,
            "pagingCounter": 1,
            "hasPrevPage": False,
            "hasNextPage": False,
            "prevPage": None,
            "nextPage": None,
        }
    pages = math.ceil(total / limit)
    has_prev = page > 1
    has_next = pages > page
    return {
        "totalDocs": total,
        "limit": limit,
        "totalPages": pages,
        "page": page,
        "pagingCounter": (page - 1) * limit + 1,
        "hasPrevPage": has_prev,
        "hasNextPage": has_next,
        "prevPage": page - 1 if has_prev else None,
        "nextPage": page + 1 if has_next else None,
    }


def unpaginated(rows: list, *, limit: int, page: int) -> dict:
    """Every match (``limit=0``): no count query, the rows are the whole answer."""
    return {
        "totalDocs": len(rows),
        "limit": limit,
        "totalPages": 1,
        "page": page,
        "pagingCounter": 1,
        "hasPrevPage": False,
        "hasNextPage": False,
        "prevPage": None,
        "nextPage": None,
    }
