from __future__ import annotations

from typing import Any

from rest_framework import serializers

from sessions.models import Child, TherapySession
from sessions.models.therapy import SESSION_NOTES_MAX_LENGTH


class ChildSerializer(serializers.ModelSerializer[Child]):
    display_name = serializers.CharField(read_only=True)

    class Meta:
        model = Child
        fields = ["id", "code", "display_name"]
        read_only_fields = fields


class TherapySessionSerializer(serializers.ModelSerializer[TherapySession]):
    child = serializers.UUIDField(source="child_id")
    therapist = serializers.UUIDField(source="therapist_id", read_only=True)
    notes = serializers.CharField(
        max_length=SESSION_NOTES_MAX_LENGTH, required=False, allow_blank=True
    )

    class Meta:
        model = TherapySession
        fields = ["id", "child", "therapist", "date", "kind", "title", "notes", "created_at"]
        read_only_fields = ["id", "therapist", "created_at"]

    def to_representation(self, instance: TherapySession) -> dict[str, Any]:
        data = super().to_representation(instance)
        # Free-text notes are for the people who may edit the session.
        readers = self.context.get("notes_child_ids")
        if readers is not None and instance.child_id not in readers:
            data.pop("notes", None)
        return data
