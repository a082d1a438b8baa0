"""The shop's seed: profile `NAME` is `seeds_dir/NAME.toml`, customers with their orders.

The harness names a template by the hash of its recipe, so the fingerprint covers the data file
and this code: change either and the next run builds a new template instead of reusing a stale one.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from harness.isolation.recipe import files_hash

CODE = Path(__file__).parent


@dataclass(frozen=True)
class ShopSeed:
    profile: str
    seeds_dir: Path

    @property
    def label(self) -> str:
        return f"shop {self.profile}"

    @property
    def path(self) -> Path:
        return self.seeds_dir / f"{self.profile}.toml"

    def fingerprint(self) -> str:
        return files_hash(self.seeds_dir, CODE, extra=self.profile)

    async def load(self, dsn: str) -> None:
        """Incremental: a customer already present (by email) is skipped, with its orders."""
        customers = tomllib.loads(self.path.read_text())["customers"]
        conn = await asyncpg.connect(dsn)
        try:
            async with conn.transaction():
                for customer in customers:
                    customer_id = await conn.fetchval(
                        "INSERT INTO shop.customers (email, name) VALUES ($1, $2) "
                        "ON CONFLICT (email) DO NOTHING RETURNING id",
                        customer["email"], customer["name"],
                    )  # fmt: skip
                    if customer_id is None:
                        continue
                    await conn.executemany(
                        "INSERT INTO shop.orders (customer_id, total_cents) VALUES ($1, $2)",
                        [(customer_id, total) for total in customer["orders"]],
                    )
        finally:
            await conn.close()
