"""Pydantic schema of a delivery reaction file (`policies/reactions/*.yaml`). Extra keys are
refused. The `do:` items are checked against the verb table (`rules.reaction_verbs`), not here,
so that an unknown verb is named as such."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from pydantic import StringConstraints as Text

ReactionFileId = Annotated[str, Text(pattern=r"^reactions\.[a-z0-9_]+$")]
Attribute = Annotated[str, Text(pattern=r"^[a-z][a-z0-9_]*$")]
Scalar = StrictBool | StrictInt | StrictStr


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReactionSpec(_Strict):
    """On one event (optionally only for one subject kind and some attribute values): actions."""

    on: str = Field(min_length=1)
    subject: Literal["household", "enterprise"] | None = None
    when: dict[Attribute, Scalar | list[Scalar]] = Field(default_factory=dict)
    says: str | None = None
    do: list[Any] = Field(default_factory=list)  # an empty list is a lint error of its own


class TestEvent(_Strict):
    """The event a reaction test sends."""

    __test__ = False  # not a pytest class

    name: str = Field(min_length=1)
    subject: Literal["household", "enterprise"]
    attributes: dict[Attribute, Scalar | list[Scalar]] = Field(default_factory=dict)


class ReactionTest(_Strict):
    """A named case: an event, and the verbs of the actions that must follow, in order."""

    __test__ = False  # not a pytest class

    name: str = Field(min_length=1)
    event: TestEvent
    expect: list[str]


class ReactionFileSpec(_Strict):
    """One reaction file: its reactions and their tests."""

    id: ReactionFileId
    title: str = Field(min_length=1)
    reactions: list[ReactionSpec] = Field(min_length=1)
    tests: list[ReactionTest] = Field(default_factory=list)
