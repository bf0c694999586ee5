"""Portal's plugin system (pluggy). Plugin authors import ``hookimpl`` from here, or build
the same marker with ``pluggy.HookimplMarker("portal")``."""
from plugins.hookspecs import hookimpl

__all__ = ["hookimpl"]
