"""The shop as a harness plug-in (entry point `shop` in group `harness.plugins`): its seed."""

from __future__ import annotations

from pathlib import Path

from harness.plugins import Plugin
from shop_db.seed import ShopSeed


def seed(profile: str, seeds_dir: Path) -> ShopSeed:
    return ShopSeed(profile, seeds_dir)


plugin = Plugin(name="shop", seed=seed)
