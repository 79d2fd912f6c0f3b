"""``import soundstar.dx as dx; dx.live(...)``, as ``latentscore.dx`` offers it."""
from . import astream, live, stream

__all__ = ["live", "astream", "stream"]
