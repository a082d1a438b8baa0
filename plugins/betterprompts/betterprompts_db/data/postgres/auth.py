"""Authentication on top of the repositories: registration, passwords (bcrypt), lockout,
sessions and API keys. Secrets are stored only as hashes; tokens are shown once, at issue."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import IPv4Address, IPv6Address
from typing import Any
from uuid import UUID

import bcrypt

from betterprompts_db.data.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from betterprompts_db.data.postgres.checks import as_uuid, checked_ip, checked_password, checked_text, checked_texts
from betterprompts_db.data.postgres.database import Database
from betterprompts_db.data.postgres.records import ApiKey, Session, User
from betterprompts_db.data.postgres.repositories import Repositories
from betterprompts_db.settings import DEFAULT_BCRYPT_COST


@dataclass(frozen=True)
class AuthPolicy:
    """The application's policy, passed in by whoever builds the service, never read from the
    environment; its bcrypt cost defaults to the one the seed's hashes default to."""

    bcrypt_cost: int = DEFAULT_BCRYPT_COST
    max_failed_attempts: int = 5
    lockout: timedelta = timedelta(minutes=15)
    session_ttl: timedelta = timedelta(hours=24)
    refresh_ttl: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class IssuedSession:
    session: Session
    token: str
    refresh_token: str


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    key: str


def token_hash(token: str) -> str:
    """How sessions, API keys and verification tokens are stored: never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


class AuthService:
    def __init__(self, db: Database, repos: Repositories, policy: AuthPolicy | None = None) -> None:
        self.db = db
        self.repos = repos
        self.policy = policy or AuthPolicy()

    async def hash_password(self, password: str) -> str:
        """bcrypt off the event loop: a cost-12 hash takes a quarter of a second of CPU."""
        password = checked_password("password", password)
        salt = bcrypt.gensalt(self.policy.bcrypt_cost)
        hashed = await asyncio.to_thread(bcrypt.hashpw, password.encode(), salt)
        return hashed.decode()

    async def register(self, *, email: str, username: str, password: str, **profile: Any) -> User:
        """A new user and their default preferences, in one transaction; Conflict on a taken email."""
        checked_text("email", email)
        checked_text("username", username)
        checked_password("password", password)  # before the user exists, not after a hash was made
        if reserved := sorted(profile.keys() & {"id", "password_hash"}):
            raise InvalidInput(reserved[0], "is set by registration, not by the caller")
        user_id = uuid.uuid4()
        password_hash = await self.hash_password(password)
        async with self.db.transaction(user_id=user_id):
            user = await self.repos.users.create(
                id=user_id, email=email, username=username, password_hash=password_hash, **profile
            )
            await self.repos.user_preferences.create(user_id=user_id)
        return user

    async def authenticate(self, email: str, password: str) -> User:
        """The user, or AuthenticationFailed; N wrong passwords lock the account for a while."""
        checked_text("email", email)
        checked_password("password", password)
        found = await self.db.fetchrow("auth.find_login", "SELECT * FROM auth.find_login($1)", email)
        if found is None:
            raise AuthenticationFailed(f"no account for {email}")
        now = await self._now()
        if found["locked_until"] is not None and found["locked_until"] > now:
            raise AuthenticationFailed(f"account {email} is locked until {found['locked_until']:%Y-%m-%d %H:%M:%S%z}")
        if not found["is_active"]:
            raise AuthenticationFailed(f"account {email} is deactivated")
        matches = await asyncio.to_thread(bcrypt.checkpw, password.encode(), found["password_hash"].encode())
        # the counters are not the application role's to write: the functions that own them do
        async with self.db.transaction(user_id=found["id"]):
            if matches:
                row = await self.db.fetchrow(
                    "auth.record_login_success", "SELECT * FROM auth.record_login_success($1)", found["id"]
                )
                if row is None:
                    raise AuthenticationFailed(f"account {email} vanished while logging in")
                return User(**row)
            attempts = await self.db.fetchval(
                "auth.record_login_failure", "SELECT auth.record_login_failure($1, $2, $3)",
                found["id"], self.policy.max_failed_attempts, self.policy.lockout,
            )  # fmt: skip
        raise AuthenticationFailed(
            f"wrong password for {email} (attempt {attempts} of {self.policy.max_failed_attempts})"
        )

    async def _now(self) -> datetime:
        now: datetime = await self.db.fetchval("now()", "SELECT now()")
        return now

    async def create_session(
        self, user_id: UUID | str, *, user_agent: str | None = None, ip: IPv4Address | IPv6Address | None = None
    ) -> IssuedSession:
        user_id = as_uuid("user_id", user_id)
        if user_agent is not None:
            checked_text("user_agent", user_agent)
        if ip is not None:
            checked_ip("ip", ip)
        token, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = await self._now()
        async with self.db.transaction(user_id=user_id):
            session = await self.repos.sessions.create(
                user_id=user_id, token_hash=token_hash(token), refresh_token_hash=token_hash(refresh),
                user_agent=user_agent, ip_address=ip, expires_at=now + self.policy.session_ttl,
            )  # fmt: skip
        return IssuedSession(session, token, refresh)

    async def verify_session(self, token: str) -> Session:
        """The live session of a bearer token; its last activity moves to now."""
        checked_text("token", token)
        found = await self.db.fetchrow("auth.find_session", "SELECT * FROM auth.find_session($1)", token_hash(token))
        if found is None:
            raise AuthenticationFailed("unknown session token")
        if found["revoked_at"] is not None:
            raise AuthenticationFailed(f"session {found['id']} was revoked")
        if found["expires_at"] <= await self._now():
            raise AuthenticationFailed(f"session {found['id']} expired at {found['expires_at']}")
        async with self.db.transaction(user_id=found["user_id"]):
            return await self.repos.sessions.update(found["id"], last_activity_at=await self._now())

    async def refresh_session(self, user_id: UUID | str, refresh_token: str) -> IssuedSession:
        """Rotate both tokens of the session holding `refresh_token`; the old ones stop working."""
        user_id = as_uuid("user_id", user_id)
        checked_text("refresh_token", refresh_token)
        token, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        async with self.db.transaction(user_id=user_id):
            row = await self.db.fetchrow(
                "auth.sessions",
                "UPDATE auth.sessions SET token_hash = $2, refresh_token_hash = $3, expires_at = now() + $4,"
                " last_activity_at = now() WHERE refresh_token_hash = $1 AND revoked_at IS NULL RETURNING *",
                token_hash(refresh_token), token_hash(token), token_hash(refresh), self.policy.session_ttl,
            )  # fmt: skip
        if row is None:
            raise AuthenticationFailed("unknown or revoked refresh token")
        return IssuedSession(Session(**row), token, refresh)

    async def revoke_session(self, user_id: UUID | str, session_id: UUID | str) -> None:
        session_id = as_uuid("session_id", session_id)
        async with self.db.transaction(user_id=as_uuid("user_id", user_id)):
            await self.repos.sessions.update(session_id, revoked_at=await self._now())

    async def revoke_all_sessions(self, user_id: UUID | str) -> int:
        async with self.db.transaction(user_id=as_uuid("user_id", user_id)):
            status = await self.db.execute(
                "auth.sessions",
                "UPDATE auth.sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
                as_uuid("user_id", user_id),
            )
        return int(status.split()[-1])

    async def expire_sessions(self) -> int:
        """Delete sessions past their expiry (a sweep for the owner role; RLS hides others' rows)."""
        status = await self.db.execute("auth.sessions", "DELETE FROM auth.sessions WHERE expires_at <= now()")
        return int(status.split()[-1])

    async def create_api_key(
        self, user_id: UUID | str, name: str, *, scopes: Sequence[str] = ("read",), rate_limit: int = 1000,
        window_seconds: int = 3600, expires_at: datetime | None = None,
    ) -> IssuedApiKey:  # fmt: skip
        user_id = as_uuid("user_id", user_id)
        scopes = checked_texts("scopes", scopes)  # a lone str is refused, not split into letters
        key = "bp_" + secrets.token_urlsafe(30)
        async with self.db.transaction(user_id=user_id):
            api_key = await self.repos.api_keys.create(
                user_id=user_id, name=name, key_prefix=key[:10].replace("-", "_"), key_hash=token_hash(key),
                scopes=list(scopes), rate_limit=rate_limit, rate_limit_window_seconds=window_seconds,
                expires_at=expires_at,
            )  # fmt: skip
        return IssuedApiKey(api_key, key)

    async def verify_api_key(self, key: str) -> ApiKey:
        """The active key behind `key`, its use counted atomically."""
        checked_text("key", key)
        found = await self.db.fetchrow("auth.find_api_key", "SELECT * FROM auth.find_api_key($1)", token_hash(key))
        if found is None:
            raise AuthenticationFailed("unknown API key")
        if not found["is_active"]:
            raise AuthenticationFailed(f"API key {found['id']} is deactivated")
        if found["expires_at"] is not None and found["expires_at"] <= await self._now():
            raise AuthenticationFailed(f"API key {found['id']} expired at {found['expires_at']}")
        async with self.db.transaction(user_id=found["user_id"]):
            row = await self.db.fetchrow("auth.use_api_key", "SELECT * FROM auth.use_api_key($1)", found["id"])
        if row is None:
            raise NotFound(f"auth.api_keys: key {found['id']} vanished")
        return ApiKey(**row)

    async def change_email(self, user_id: UUID | str, email: str) -> User:
        """An explicit operation because the unique index is case-insensitive: says so on Conflict."""
        checked_text("email", email)
        async with self.db.transaction(user_id=as_uuid("user_id", user_id)):
            try:
                return await self.repos.users.update(user_id, email=email)
            except Conflict as exc:
                raise Conflict("that email is already registered (emails compare case-insensitively)") from exc
