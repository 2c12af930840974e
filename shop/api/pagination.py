"""Payload's list envelope: ``{docs, totalDocs, limit, totalPages, page, pagingCounter,
hasPrevPage, hasNextPage, prevPage, nextPage}``, in at most two queries (the page, then the count
only when the page alone cannot tell it)."""

import math

from django.db.models import QuerySet

from shop.api.query import max_limit


def fetch_page(queryset: QuerySet, values, *, limit: int, page: int, pagination: bool):
    """The page's rows (``values(queryset)``: dicts) and the envelope without ``docs``."""
    if limit == 0:
        rows = list(values(queryset)[: max_limit()])
        return rows, unpaginated(rows, limit=0, page=1)
    offset = (page - 1) * limit
    rows = list(values(queryset)[offset : offset + limit])
    if not pagination:
        return rows, unpaginated(rows, limit=limit, page=page)
    if offset == 0 and len(rows) < limit:
        total = len(rows)  # the first page is not full: it holds every match
    elif rows and len(rows) < limit:
        total = offset + len(rows)  # a last page: everything before it was full
    else:
        total = queryset.count()
    return rows, envelope(total, limit=limit, page=page)


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
    """``pagination=false`` (or ``limit=0``): no count query, the page is the whole answer."""
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
