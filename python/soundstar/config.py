"""``from soundstar.config import Step``, as ``latentscore.config`` offers it."""
from . import MusicConfig, MusicConfigUpdate, Step

__all__ = ["MusicConfig", "MusicConfigUpdate", "Step"]
