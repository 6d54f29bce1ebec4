"""Walking a whole list: the contact and tag pagers, and the positions a walk resumes from.

Modules: ``_positions`` (saved positions), ``_v1_step`` and ``_ties`` (the v1 walk's pure
per-page decisions), ``_base`` (the pager base and :class:`Fetch`), ``_v1_pager``,
``_v2_pager`` (the v2 keyset walk, its pure steps in ``_keyset``), ``_v2_offset`` and ``_tags``
(the pagers). How the walks work: docs/pagination.md.
"""

from heymarket_async.pagination._base import Fetch
from heymarket_async.pagination._keyset import V2Position
from heymarket_async.pagination._positions import V1Position, V2OffsetPosition
from heymarket_async.pagination._tags import TagPager
from heymarket_async.pagination._v1_pager import V1ContactPager
from heymarket_async.pagination._v2_offset import V2OffsetPager
from heymarket_async.pagination._v2_pager import V2ContactPager

__all__ = [
    "Fetch",
    "TagPager",
    "V1ContactPager",
    "V1Position",
    "V2ContactPager",
    "V2OffsetPager",
    "V2OffsetPosition",
    "V2Position",
]
