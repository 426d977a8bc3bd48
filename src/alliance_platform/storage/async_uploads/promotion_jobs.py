"""Promotion as background work: the functions ``tasks`` runs, by record and field id rather than by objects.

(Work in progress: retries, the resume sweep and scanning are added on top of this.)
"""

from __future__ import annotations

from .promotion import promote
from .registry import AsyncFieldRegistry


def promote_upload(field_id: str, record_pk: str, temp_key: str, using: str = "default", attempt: int = 1) -> str:
    field = AsyncFieldRegistry.find_field(field_id)
    if field is None:
        return "unknown field"
    instance = field.model._base_manager.using(using).filter(pk=record_pk).first()
    if instance is None:
        return "record gone"
    return promote(field, instance, temp_key, using) or ""


def resume_promotions(older_than_seconds: float = 300) -> int:
    return 0
