"""Typed rows of every BetterPrompts table, as the repositories return them.

Field order and types follow the migrations; `RECORDS` maps each table to its record class. They
are the one declaration of each table's columns in Python: the repositories and the seed loader
take their column lists from them, and the seed generators make these records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from ipaddress import IPv4Address, IPv6Address
from typing import Any
from uuid import UUID

import numpy as np
import numpy.typing as npt

IPAddress = IPv4Address | IPv6Address
Vector = npt.NDArray[np.float32]
VectorLike = Sequence[float] | npt.NDArray[np.floating[Any]]  # what callers may pass as an embedding


@dataclass(slots=True)
class User:
    """A row of auth.users."""

    id: UUID
    email: str
    username: str
    password_hash: str
    first_name: str | None
    last_name: str | None
    avatar_url: str | None
    is_active: bool
    is_verified: bool
    verification_token_hash: str | None
    verification_expires_at: datetime | None
    reset_token_hash: str | None
    reset_expires_at: datetime | None
    role: str
    tier: str
    preferences: dict[str, Any]
    metadata: dict[str, Any]
    last_login_at: datetime | None
    failed_login_attempts: int
    locked_until: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class Session:
    """A row of auth.sessions."""

    id: UUID
    user_id: UUID
    token_hash: str
    refresh_token_hash: str | None
    user_agent: str | None
    ip_address: IPAddress | None
    expires_at: datetime
    last_activity_at: datetime
    revoked_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class ApiKey:
    """A row of auth.api_keys."""

    id: UUID
    user_id: UUID
    name: str
    key_prefix: str
    key_hash: str
    scopes: list[str]
    rate_limit: int
    rate_limit_window_seconds: int
    usage_count: int
    last_used_at: datetime | None
    expires_at: datetime | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class UserPreferences:
    """A row of auth.user_preferences."""

    id: UUID
    user_id: UUID
    preferred_techniques: list[str]
    excluded_techniques: list[str]
    complexity_preference: str
    ui_theme: str
    ui_language: str
    email_notifications: bool
    analytics_opt_in: bool
    custom_settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class Template:
    """A row of prompts.templates."""

    id: UUID
    name: str
    slug: str
    description: str | None
    technique: str
    category: str
    template_text: str
    variables: list[Any]
    examples: list[Any]
    effectiveness_score: Decimal | None
    usage_count: int
    is_active: bool
    is_public: bool
    created_by: UUID | None
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class IntentPattern:
    """A row of prompts.intent_patterns."""

    id: UUID
    pattern: str
    normalized_pattern: str
    intent: str
    sub_intent: str | None
    confidence: float
    is_verified: bool
    verified_by: UUID | None
    source: str
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class SavedPrompt:
    """A row of prompts.saved_prompts."""

    id: UUID
    user_id: UUID
    history_id: UUID | None
    title: str
    description: str | None
    prompt_text: str
    tags: list[str]
    is_public: bool
    share_token: str | None
    view_count: int
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    history_created_at: datetime | None


@dataclass(slots=True)
class Collection:
    """A row of prompts.collections."""

    id: UUID
    user_id: UUID
    name: str
    description: str | None
    is_public: bool
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class CollectionPrompt:
    """A row of prompts.collection_prompts."""

    id: UUID
    collection_id: UUID
    saved_prompt_id: UUID
    position: int
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class TechniqueEffectiveness:
    """A row of analytics.technique_effectiveness."""

    id: UUID
    technique: str
    intent: str
    day: date
    success_count: int
    total_count: int
    avg_feedback_score: Decimal | None
    avg_processing_time_ms: float | None
    p95_processing_time_ms: float | None
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class UserActivity:
    """A row of analytics.user_activity."""

    id: UUID
    user_id: UUID
    activity_type: str
    data: dict[str, Any]
    session_id: UUID | None
    ip_address: IPAddress | None
    user_agent: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class DailyStats:
    """A row of analytics.daily_stats."""

    id: UUID
    day: date
    total_requests: int
    unique_users: int
    new_users: int
    total_enhancements: int
    avg_response_time_ms: float | None
    error_count: int
    technique_breakdown: dict[str, Any]
    intent_breakdown: dict[str, Any]
    hourly_breakdown: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class ApiMetric:
    """A row of analytics.api_metrics."""

    id: UUID
    api_key_id: UUID | None
    endpoint: str
    method: str
    status_code: int
    response_time_ms: float
    request_size_bytes: int | None
    response_size_bytes: int | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class Embedding:
    """A row of prompts.embeddings."""

    id: UUID
    source_type: str
    source_id: UUID
    user_id: UUID | None
    intent: str | None
    embedding: Vector
    model_version: str
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class HistoryEntry:
    """A row of prompts.history."""

    id: UUID
    user_id: UUID | None
    session_id: UUID | None
    request_id: str
    original_input: str
    enhanced_output: str
    intent: str | None
    intent_confidence: float | None
    complexity: str | None
    techniques_used: list[str]
    technique_scores: dict[str, Any]
    processing_time_ms: int | None
    token_count: int | None
    model_version: str | None
    feedback_score: int | None
    feedback_text: str | None
    is_favorite: bool
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


RECORDS: dict[str, type[Any]] = {
    "auth.users": User,
    "auth.sessions": Session,
    "auth.api_keys": ApiKey,
    "auth.user_preferences": UserPreferences,
    "prompts.templates": Template,
    "prompts.intent_patterns": IntentPattern,
    "prompts.saved_prompts": SavedPrompt,
    "prompts.collections": Collection,
    "prompts.collection_prompts": CollectionPrompt,
    "analytics.technique_effectiveness": TechniqueEffectiveness,
    "analytics.user_activity": UserActivity,
    "analytics.daily_stats": DailyStats,
    "analytics.api_metrics": ApiMetric,
    "prompts.embeddings": Embedding,
    "prompts.history": HistoryEntry,
}


def columns_of(record: type[Any]) -> tuple[str, ...]:
    """The columns of the table `record` is a row of: its fields, in order."""
    return tuple(f.name for f in fields(record))
