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
    # Who else took part (ids of children and therapists of the same clinic).
    other_children = serializers.ListField(
        child=serializers.UUIDField(), required=False, write_only=True, max_length=50
    )
    other_therapists = serializers.ListField(
        child=serializers.UUIDField(), required=False, write_only=True, max_length=20
    )

    class Meta:
        model = TherapySession
        fields = [
            "id",
            "child",
            "therapist",
            "date",
            "kind",
            "title",
            "notes",
            "other_children",
            "other_therapists",
            "created_at",
        ]
        read_only_fields = ["id", "therapist", "created_at"]

    def to_representation(self, instance: TherapySession) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["other_children"] = [str(c.pk) for c in instance.other_children.all()]
        data["other_therapists"] = [str(t.pk) for t in instance.other_therapists.all()]
        # Free-text notes are for the people who may edit the session.
        readers = self.context.get("notes_child_ids")
        if readers is not None and instance.child_id not in readers:
            data.pop("notes", None)
        return data
