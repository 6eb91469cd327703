"""What every section of a policy file is: strict (unknown keys are errors) and immutable."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Every policy section: unknown keys are errors (a typo must not be ignored), immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)
