"""Users with their sessions, API keys and preferences: the named accounts, then generated ones.

A generated user is drawn from a random stream of its own (seed and user number), so user 7 is
the same person at every scale and a larger profile grows a smaller one's world.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from ipaddress import ip_address

from betterprompts_db.data.postgres.auth import token_hash
from betterprompts_db.data.postgres.records import ApiKey, Session, User, UserPreferences
from betterprompts_db.seed.ids import stable_uuid
from betterprompts_db.seed.passwords import seeded_password_hash
from betterprompts_db.seed.profiles import Profile, World
from betterprompts_db.seed.reference import Account, Reference

FAR_FUTURE = dt.datetime(2036, 1, 1, tzinfo=dt.UTC)  # named accounts' sessions outlive any test run
SESSION_LIFETIME = dt.timedelta(days=30)
KEY_LIFETIME = dt.timedelta(days=365)  # of a generated API key that expires, from its user joining
LASTING_KEY_SHARE = 0.6  # of generated API keys that never expire
LANGUAGES = ("en", "en", "en", "en-GB", "de", "fr", "es", "pt-BR", "ja")
KEY_NAMES = ("Default key", "CI pipeline", "Staging", "Notebook")
RATE_LIMITS = {"free": 100, "pro": 1000, "enterprise": 10000}


@dataclass
class Person:
    """A generated user: its auth.users record with its sessions, API keys and preferences, and how
    active the user is (its share of the history)."""

    id: uuid.UUID
    tier: str
    role: str
    created_at: dt.datetime
    activity: float  # relative share of history this user produces
    record: User = field(init=False)
    sessions: list[Session] = field(default_factory=list)
    api_keys: list[ApiKey] = field(default_factory=list)
    preferences: UserPreferences | None = None


class People:
    """Builds every user of a profile; `users` keeps them in load order."""

    def __init__(self, world: World, profile: Profile, reference: Reference, cost: int) -> None:
        self.world = world
        self.profile = profile
        self.reference = reference
        self.cost = cost
        self.techniques = [t.name for t in reference.techniques]
        self.users: list[Person] = []
        self.by_account: dict[str, Person] = {}

    def build(self) -> list[Person]:
        self.hash_passwords()
        for number, account in enumerate(self.reference.accounts):
            user = self.named(number, account)
            self.by_account[account.key] = user
            self.users.append(user)
        self.users.extend(self.generated(n) for n in range(self.profile.users))
        return self.users

    def hash_passwords(self) -> None:
        """Hash every distinct password at once, a thread each (bcrypt releases the GIL): at cost 12
        they are seconds of a small profile's seeding."""
        passwords = {a.password for a in self.reference.accounts}
        passwords.update(self.world.generated_passwords[: self.profile.users])
        with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
            list(pool.map(lambda p: seeded_password_hash(p, self.cost, self.world.random_seed), sorted(passwords)))

    def named(self, number: int, account: Account) -> Person:
        seed = self.world.random_seed
        rng = random.Random(f"{seed}:account:{account.key}")
        created = self.world.epoch - dt.timedelta(days=400) + dt.timedelta(hours=number)
        user = Person(stable_uuid(seed, "account", account.key), account.tier, account.role, created, activity=4.0)
        if account.session_token:
            user.sessions.append(
                self.session(rng, user, 0, self.world.epoch - dt.timedelta(days=1), account.session_token, FAR_FUTURE)
            )
        if account.api_key:
            user.api_keys.append(self.api_key(rng, user, 0, account.api_key, list(account.api_scopes), None))
        user.preferences = self.preference_row(rng, user)
        verification = account.verification_token
        user.record = User(
            id=user.id, email=account.email, username=account.username,
            password_hash=seeded_password_hash(account.password, self.cost, seed), first_name=account.first_name,
            last_name=account.last_name, avatar_url=None, is_active=account.active, is_verified=account.verified,
            verification_token_hash=token_hash(verification) if verification else None,
            verification_expires_at=FAR_FUTURE if verification else None, reset_token_hash=None,
            reset_expires_at=None, role=account.role, tier=account.tier, preferences={},
            metadata={"seed_account": account.key}, last_login_at=self.last_login(user),
            failed_login_attempts=account.failed_login_attempts,
            locked_until=FAR_FUTURE if account.locked else None, created_at=created, updated_at=created,
        )  # fmt: skip
        return user

    def generated(self, number: int) -> Person:
        seed = self.world.random_seed
        rng = random.Random(f"{seed}:user:{number}")
        words = self.reference.vocabulary
        first, last = rng.choice(words.first_names), rng.choice(words.last_names)
        tier = rng.choices(("free", "pro", "enterprise"), (70, 22, 8))[0]
        role = rng.choices(("user", "developer", "support"), (96, 3, 1))[0]
        created = self.world.epoch - dt.timedelta(seconds=rng.randrange(86_400, 540 * 86_400))
        user = Person(stable_uuid(seed, "user", number), tier, role, created, activity=min(rng.paretovariate(1.2), 60))
        for n in range(min(6, round(rng.expovariate(1 / self.profile.sessions_per_user)))):
            start = created + (self.world.epoch - created) * rng.random()
            user.sessions.append(self.session(rng, user, n, start, f"session-{rng.getrandbits(128):032x}", None))
        user.sessions.sort(key=lambda s: s.created_at)
        if (tier != "free" or role == "developer") and rng.random() < self.profile.api_key_share:
            scopes = ["read", "write", "enhance"] if role == "developer" else ["read", "enhance"]
            for n in range(rng.choice((1, 1, 2))):
                key = f"bpk_{rng.getrandbits(32):08x}_{rng.getrandbits(128):032x}"
                expires = None if rng.random() < LASTING_KEY_SHARE else created + KEY_LIFETIME
                user.api_keys.append(self.api_key(rng, user, n, key, scopes, expires))
        if rng.random() < self.profile.preference_share:
            user.preferences = self.preference_row(rng, user)
        unverified = rng.random() < 0.06
        verify_expires = created + dt.timedelta(days=2) if unverified else None
        # keywords in column order: the generator draws its random numbers in this order
        user.record = User(
            id=user.id, email=f"{first}.{last}.{number}@{rng.choice(words.email_domains)}".lower(),
            username=f"{first}.{last}{number}".lower(),
            password_hash=seeded_password_hash(
                self.world.generated_passwords[number % len(self.world.generated_passwords)], self.cost, seed
            ),
            first_name=first, last_name=last,
            avatar_url=f"https://avatars.example.com/{user.id.hex[:16]}.png" if rng.random() < 0.4 else None,
            is_active=rng.random() < 0.98, is_verified=not unverified,
            verification_token_hash=token_hash(f"verify-{rng.getrandbits(128):032x}") if unverified else None,
            verification_expires_at=verify_expires, reset_token_hash=None, reset_expires_at=None, role=role, tier=tier,
            preferences={"onboarded": rng.random() < 0.8},
            metadata={"signup_source": rng.choice(("web", "google", "github", "invite"))},
            last_login_at=self.last_login(user), failed_login_attempts=0, locked_until=None, created_at=created,
            updated_at=created,
        )  # fmt: skip
        return user

    def session(
        self, rng: random.Random, user: Person, n: int, start: dt.datetime, token: str, expires: dt.datetime | None
    ) -> Session:
        start = start.replace(microsecond=0)
        expires = expires or start + SESSION_LIFETIME
        last_activity = start + (min(expires, self.world.epoch) - start) * rng.random()
        revoked = last_activity if expires < FAR_FUTURE and rng.random() < 0.15 else None
        ip = (
            f"2001:db8:{rng.getrandbits(16):x}::{rng.getrandbits(16):x}"
            if rng.random() < 0.2
            else f"{rng.choice(('192.0.2', '198.51.100', '203.0.113'))}.{rng.randrange(1, 255)}"
        )
        session_id = stable_uuid(self.world.random_seed, "session", user.id, n)
        agent = rng.choice(self.reference.vocabulary.user_agents)
        return Session(
            id=session_id, user_id=user.id, token_hash=token_hash(token),
            refresh_token_hash=token_hash(f"refresh-{token}"), user_agent=agent, ip_address=ip_address(ip),
            expires_at=expires, last_activity_at=last_activity, revoked_at=revoked, created_at=start,
            updated_at=max(last_activity, revoked or start),
        )  # fmt: skip

    def api_key(
        self, rng: random.Random, user: Person, n: int, key: str, scopes: list[str], expires: dt.datetime | None
    ) -> ApiKey:
        """A key not used yet: the API metrics count its uses (and move updated_at to the last)."""
        created = min(user.created_at + dt.timedelta(days=rng.randrange(0, 30)), self.world.epoch)
        active = expires is None or rng.random() < 0.9
        return ApiKey(
            id=stable_uuid(self.world.random_seed, "api_key", user.id, n), user_id=user.id, name=KEY_NAMES[n],
            key_prefix=key[:12], key_hash=token_hash(key), scopes=scopes, rate_limit=RATE_LIMITS[user.tier],
            rate_limit_window_seconds=3600, usage_count=0, last_used_at=None, expires_at=expires, is_active=active,
            created_at=created, updated_at=created,
        )  # fmt: skip

    def preference_row(self, rng: random.Random, user: Person) -> UserPreferences:
        chosen = rng.sample(self.techniques, rng.randrange(0, 5))
        preferred, excluded = chosen[: len(chosen) // 2 + 1], chosen[len(chosen) // 2 + 1 :]
        created = user.created_at + dt.timedelta(minutes=rng.randrange(1, 600))
        return UserPreferences(
            id=stable_uuid(self.world.random_seed, "preferences", user.id), user_id=user.id,
            preferred_techniques=preferred, excluded_techniques=excluded,
            complexity_preference=rng.choice(("auto", "auto", "simple", "moderate", "complex")),
            ui_theme=rng.choice(("light", "dark", "system")), ui_language=rng.choice(LANGUAGES),
            email_notifications=rng.random() < 0.7, analytics_opt_in=rng.random() < 0.85,
            custom_settings={"default_model": rng.choice(self.reference.vocabulary.models)}, created_at=created,
            updated_at=created,
        )  # fmt: skip

    @staticmethod
    def last_login(user: Person) -> dt.datetime | None:
        return max((s.created_at for s in user.sessions), default=None)
