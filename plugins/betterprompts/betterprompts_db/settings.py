"""BetterPrompts' own settings: the plug-in's model, read by the engine beside its own
(`[tool.harness.betterprompts]`, then `HARNESS_<FIELD>`) and listed by `harness settings`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_BCRYPT_COST = 12  # the application's AuthPolicy and the seed's alike
MIN_BCRYPT_COST, MAX_BCRYPT_COST = 4, 31  # what bcrypt accepts


class BetterPromptsSettings(BaseModel):
    """Every setting of the BetterPrompts plug-in."""

    model_config = ConfigDict(frozen=True)

    bcrypt_cost: int = Field(
        default=DEFAULT_BCRYPT_COST,
        ge=MIN_BCRYPT_COST,
        le=MAX_BCRYPT_COST,
        description="The bcrypt cost of seeded users' password hashes and of `harness hash-password`'s (the "
        "application's AuthPolicy defaults to the same); tests use 4 for speed.",
    )
