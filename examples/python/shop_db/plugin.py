"""The shop as a harness plug-in (entry point `shop` in group `harness.plugins`): its seed."""

from __future__ import annotations

from harness.config import Settings
from harness.plugins import Plugin
from shop_db.seed import ShopSeed


def seed(settings: Settings, profile: str) -> ShopSeed:
    return ShopSeed(profile, settings.seeds_dir)


plugin = Plugin(name="shop", seed=seed)
