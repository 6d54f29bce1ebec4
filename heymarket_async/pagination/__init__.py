"""Walking a whole list: saved positions, the v1 cursor step, tie groups, and the pagers."""

from ._contacts import Fetch, V1ContactPager, V1Position, V2ContactPager, V2Position
from ._tags import TagPager

__all__ = ["Fetch", "TagPager", "V1ContactPager", "V1Position", "V2ContactPager", "V2Position"]
