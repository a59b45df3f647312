"""What every handler works with: the database, the catalogue being served, the settings.

One `Ctx` per application, injected as the `ctx` dependency. The catalogue can change while the
service runs (a policy writer publishes a new version), so handlers read `ctx.catalogue` and
`ctx.reactions` at the time of the request; `replace_catalogue` swaps both at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from api.settings import ApiSettings
from matcher.events.reactions import Reactions
from rules.catalogue import Catalogue, load_catalogue

__all__ = ["Ctx"]


@dataclass
class Ctx:
    """The service's shared state (one per application)."""

    engine: Engine
    settings: ApiSettings
    _catalogue: Catalogue
    _reactions: Reactions
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, engine: Engine, settings: ApiSettings) -> Ctx:
        """The context of the catalogue at `settings.root` (RuleError if it does not load)."""
        catalogue = load_catalogue(settings.root)
        return cls(engine, settings, catalogue, Reactions.load(settings.root, catalogue))

    @property
    def root(self) -> Path:
        return self.settings.root

    @property
    def catalogue(self) -> Catalogue:
        return self._catalogue

    @property
    def reactions(self) -> Reactions:
        return self._reactions

    def replace_catalogue(self) -> Catalogue:
        """Reload the catalogue (and its reactions) from the served folder, after a publish."""
        with self._lock:
            catalogue = load_catalogue(self.settings.root)
            reactions = Reactions.load(self.settings.root, catalogue)
            self._catalogue, self._reactions = catalogue, reactions
        return catalogue
