"""What every handler works with: the database, the catalogue being served, the settings.

One `Ctx` per application, injected as the `ctx` dependency. The catalogue can change while the
service runs (a policy writer publishes a new version), so handlers read `ctx.catalogue` and
`ctx.reactions` at the time of the request; `replace_catalogue` swaps both at once.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine

from api.settings import ApiSettings
from matcher.events.reactions import Reactions
from rules.catalogue import Catalogue, load_catalogue

__all__ = ["Ctx"]


class Ctx:
    """The service's shared state (one per application).

    A plain class, not a dataclass: Litestar validates a dataclass dependency field by field
    (and cannot, for a catalogue); an ordinary class is injected as it is.
    """

    def __init__(
        self, engine: Engine, settings: ApiSettings, catalogue: Catalogue, reactions: Reactions
    ) -> None:
        self.engine = engine
        self.settings = settings
        self._catalogue = catalogue
        self._reactions = reactions
        self._lock = threading.Lock()

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
