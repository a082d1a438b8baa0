"""Users with their sessions, API keys and preferences: the named accounts, then generated ones.

A generated user is drawn from a random stream of its own (seed and user number), so user 7 is
the same person at every scale and a larger profile grows a smaller one's world.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from dataclasses import dataclass, field

from betterprompts_db.seed.ids import stable_uuid
from betterprompts_db.seed.passwords import seeded_password_hash, token_hash
from betterprompts_db.seed.profiles import Profile, World
from betterprompts_db.seed.reference import Account, Reference

FAR_FUTURE = dt.datetime(2036, 1, 1, tzinfo=dt.UTC)  # named accounts' sessions outlive any test run
SESSION_LIFETIME = dt.timedelta(days=30)
KEY_LIFETIME = dt.timedelta(days=365)  # of a generated API key that expires, from its user joining
LASTING_KEY_SHARE = 0.6  # of generated API keys that never expire
LANGUAGES = ("en", "en", "en", "en-GB", "de", "fr", "es", "pt-BR", "ja")
KEY_NAMES = ("Default key", "CI pipeline", "Staging", "Notebook")
RATE_LIMITS = {"free": 100, "pro": 1000, "enterprise": 10000}


@dataclass(frozen=True)
class Session:
    id: uuid.UUID
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    ip_address: str
    user_agent: str
    row: tuple[object, ...]


@dataclass(frozen=True)
class Preferences:
    id: uuid.UUID
    created_at: dt.datetime
    row: tuple[object, ...]


@dataclass
class ApiKey:
    id: uuid.UUID
    user_id: uuid.UUID
    created_at: dt.datetime
    fields: tuple[object, ...]  # the row up to usage_count, which the API metrics decide
    expires_at: dt.datetime | None
    is_active: bool
    usage_count: int = 0
    last_used_at: dt.datetime | None = None

    def row(self) -> tuple[object, ...]:
        updated = self.last_used_at or self.created_at
        return (
            *self.fields,
            self.usage_count,
            self.last_used_at,
            self.expires_at,
            self.is_active,
            self.created_at,
            updated,
        )


@dataclass
class User:
    id: uuid.UUID
    tier: str
    role: str
    created_at: dt.datetime
    activity: float  # relative share of history this user produces
    row: tuple[object, ...] = ()
    sessions: list[Session] = field(default_factory=list)
    api_keys: list[ApiKey] = field(default_factory=list)
    preferences: Preferences | None = None


USER_COLUMNS = (
    "id", "email", "username", "password_hash", "first_name", "last_name", "avatar_url", "is_active",
    "is_verified", "verification_token_hash", "verification_expires_at", "reset_token_hash", "reset_expires_at",
    "role", "tier", "preferences", "metadata", "last_login_at", "failed_login_attempts", "locked_until",
    "created_at", "updated_at",
)  # fmt: skip
SESSION_COLUMNS = (
    "id", "user_id", "token_hash", "refresh_token_hash", "user_agent", "ip_address", "expires_at",
    "last_activity_at", "revoked_at", "created_at", "updated_at",
)  # fmt: skip
API_KEY_COLUMNS = (
    "id", "user_id", "name", "key_prefix", "key_hash", "scopes", "rate_limit", "rate_limit_window_seconds",
    "usage_count", "last_used_at", "expires_at", "is_active", "created_at", "updated_at",
)  # fmt: skip
PREFERENCE_COLUMNS = (
    "id", "user_id", "preferred_techniques", "excluded_techniques", "complexity_preference", "ui_theme",
    "ui_language", "email_notifications", "analytics_opt_in", "custom_settings", "created_at", "updated_at",
)  # fmt: skip


class People:
    """Builds every user of a profile; `users` keeps them in load order."""

    def __init__(self, world: World, profile: Profile, reference: Reference, cost: int) -> None:
        self.world = world
        self.profile = profile
        self.reference = reference
        self.cost = cost
        self.techniques = [t.name for t in reference.techniques]
        self.users: list[User] = []
        self.by_account: dict[str, User] = {}

    def build(self) -> list[User]:
        for number, account in enumerate(self.reference.accounts):
            user = self.named(number, account)
            self.by_account[account.key] = user
            self.users.append(user)
        self.users.extend(self.generated(n) for n in range(self.profile.users))
        return self.users

    def named(self, number: int, account: Account) -> User:
        seed = self.world.random_seed
        rng = random.Random(f"{seed}:account:{account.key}")
        created = self.world.epoch - dt.timedelta(days=400) + dt.timedelta(hours=number)
        user = User(stable_uuid(seed, "account", account.key), account.tier, account.role, created, activity=4.0)
        if account.session_token:
            user.sessions.append(
                self.session(rng, user, 0, self.world.epoch - dt.timedelta(days=1), account.session_token, FAR_FUTURE)
            )
        if account.api_key:
            user.api_keys.append(self.api_key(rng, user, 0, account.api_key, list(account.api_scopes), None))
        user.preferences = self.preference_row(rng, user)
        verification = account.verification_token
        user.row = (
            user.id, account.email, account.username, seeded_password_hash(account.password, self.cost, seed),
            account.first_name, account.last_name, None, account.active, account.verified,
            token_hash(verification) if verification else None, FAR_FUTURE if verification else None, None, None,
            account.role, account.tier, "{}", json.dumps({"seed_account": account.key}), self.last_login(user),
            account.failed_login_attempts, FAR_FUTURE if account.locked else None, created, created,
        )  # fmt: skip
        return user

    def generated(self, number: int) -> User:
        seed = self.world.random_seed
        rng = random.Random(f"{seed}:user:{number}")
        words = self.reference.vocabulary
        first, last = rng.choice(words.first_names), rng.choice(words.last_names)
        tier = rng.choices(("free", "pro", "enterprise"), (70, 22, 8))[0]
        role = rng.choices(("user", "developer", "support"), (96, 3, 1))[0]
        created = self.world.epoch - dt.timedelta(seconds=rng.randrange(86_400, 540 * 86_400))
        user = User(stable_uuid(seed, "user", number), tier, role, created, activity=min(rng.paretovariate(1.2), 60))
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
        user.row = (
            user.id, f"{first}.{last}.{number}@{rng.choice(words.email_domains)}".lower(),
            f"{first}.{last}{number}".lower(),
            seeded_password_hash(self.world.generated_passwords[number % len(self.world.generated_passwords)],
                                 self.cost, seed),
            first, last, f"https://avatars.example.com/{user.id.hex[:16]}.png" if rng.random() < 0.4 else None,
            rng.random() < 0.98, not unverified,
            token_hash(f"verify-{rng.getrandbits(128):032x}") if unverified else None, verify_expires, None, None,
            role, tier, json.dumps({"onboarded": rng.random() < 0.8}),
            json.dumps({"signup_source": rng.choice(("web", "google", "github", "invite"))}),
            self.last_login(user), 0, None, created, created,
        )  # fmt: skip
        return user

    def session(
        self, rng: random.Random, user: User, n: int, start: dt.datetime, token: str, expires: dt.datetime | None
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
        row = (
            session_id, user.id, token_hash(token), token_hash(f"refresh-{token}"), agent, ip, expires,
            last_activity, revoked, start, max(last_activity, revoked or start),
        )  # fmt: skip
        return Session(session_id, start, expires, revoked, ip, agent, row)

    def api_key(
        self, rng: random.Random, user: User, n: int, key: str, scopes: list[str], expires: dt.datetime | None
    ) -> ApiKey:
        created = min(user.created_at + dt.timedelta(days=rng.randrange(0, 30)), self.world.epoch)
        key_id = stable_uuid(self.world.random_seed, "api_key", user.id, n)
        fields = (
            key_id, user.id, KEY_NAMES[n], key[:12], token_hash(key), scopes, RATE_LIMITS[user.tier], 3600,
        )  # fmt: skip
        active = expires is None or rng.random() < 0.9
        return ApiKey(key_id, user.id, created, fields, expires, active)

    def preference_row(self, rng: random.Random, user: User) -> Preferences:
        chosen = rng.sample(self.techniques, rng.randrange(0, 5))
        preferred, excluded = chosen[: len(chosen) // 2 + 1], chosen[len(chosen) // 2 + 1 :]
        created = user.created_at + dt.timedelta(minutes=rng.randrange(1, 600))
        preferences_id = stable_uuid(self.world.random_seed, "preferences", user.id)
        return Preferences(preferences_id, created, (
            preferences_id, user.id, preferred, excluded,
            rng.choice(("auto", "auto", "simple", "moderate", "complex")), rng.choice(("light", "dark", "system")),
            rng.choice(LANGUAGES), rng.random() < 0.7, rng.random() < 0.85,
            json.dumps({"default_model": rng.choice(self.reference.vocabulary.models)}), created, created,
        ))  # fmt: skip

    @staticmethod
    def last_login(user: User) -> dt.datetime | None:
        return max((s.created_at for s in user.sessions), default=None)
