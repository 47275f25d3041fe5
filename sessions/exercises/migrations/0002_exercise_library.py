"""Data migration: give every existing clinic the ready-made exercise library.

Clinics created later get it from the post_save hook in ``sessions.exercises.apps``. Kept apart
from the schema migrations. Reversing removes library exercises nobody has assigned.
"""

from django.db import migrations

from sessions.exercises.library import LIBRARY


def install(apps, schema_editor):
    Clinic = apps.get_model("therapy_sessions", "Clinic")
    Exercise = apps.get_model("exercises", "Exercise")
    for clinic in Clinic.objects.all():
        for item in LIBRARY:
            Exercise.objects.get_or_create(
                clinic=clinic,
                library_key=item["key"],
                defaults={
                    "title": item["title"],
                    "goal": item["goal"],
                    "phrase": item["phrase"],
                    "target_emotion": item["target_emotion"],
                    "difficulty": item["difficulty"],
                    "instructions": item["instructions"],
                },
            )


def uninstall(apps, schema_editor):
    Exercise = apps.get_model("exercises", "Exercise")
    Exercise.objects.exclude(library_key="").filter(assignments__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("exercises", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]
