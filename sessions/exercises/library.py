"""The ready-made exercises every clinic starts with, for common social-skills goals.

Plain data, read by the data migration (existing clinics) and by ``services.library_install``
(new clinics). ``key`` is stable: installing again adds only the exercises a clinic is missing
and never overwrites a therapist's edits. Therapists can add their own.
"""

from __future__ import annotations

from typing import TypedDict


class LibraryExercise(TypedDict):
    key: str
    title: str
    goal: str
    phrase: str
    target_emotion: str
    difficulty: int
    instructions: str


LIBRARY: tuple[LibraryExercise, ...] = (
    {
        "key": "greeting-happy",
        "title": "Happy hello",
        "goal": "Greeting someone",
        "phrase": "Hi! I'm so happy to see you!",
        "target_emotion": "happy",
        "difficulty": 1,
        "instructions": "Smile while you say it: a smile makes your voice sound happy too. "
        "Let your voice go up at the start.",
    },
    {
        "key": "thank-you-happy",
        "title": "Big thank you",
        "goal": "Saying thank you",
        "phrase": "Thank you so much for helping me!",
        "target_emotion": "happy",
        "difficulty": 1,
        "instructions": "Think of something nice someone did for you, then say thank you "
        "with a bright, bouncy voice.",
    },
    {
        "key": "surprise-gift",
        "title": "What a surprise!",
        "goal": "Showing surprise",
        "phrase": "Wow! Is that really for me?",
        "target_emotion": "surprised",
        "difficulty": 1,
        "instructions": "Open your eyes wide and let your voice jump up high on “Wow!”.",
    },
    {
        "key": "ask-help-calm",
        "title": "Asking for help",
        "goal": "Asking for help",
        "phrase": "Can you help me, please?",
        "target_emotion": "calm",
        "difficulty": 1,
        "instructions": "Take a slow breath first. Say it gently and not too fast.",
    },
    {
        "key": "no-thank-you-calm",
        "title": "Saying no calmly",
        "goal": "Saying no calmly",
        "phrase": "No, thank you. I don't want to play that right now.",
        "target_emotion": "calm",
        "difficulty": 2,
        "instructions": "Breathe in and out slowly. Use a soft, steady voice: saying no can be "
        "kind and calm.",
    },
    {
        "key": "good-news-happy",
        "title": "Sharing good news",
        "goal": "Sharing news with a friend",
        "phrase": "Guess what? We're going to the beach tomorrow!",
        "target_emotion": "happy",
        "difficulty": 2,
        "instructions": "Imagine the best day ever. Let your voice sound excited and quick.",
    },
    {
        "key": "sorry-sad",
        "title": "Saying sorry",
        "goal": "Apologising",
        "phrase": "I'm sorry I knocked over your tower.",
        "target_emotion": "sad",
        "difficulty": 2,
        "instructions": "Say it slowly and softly, so your friend can hear that you really "
        "mean it.",
    },
    {
        "key": "upset-calm",
        "title": "Telling someone I'm upset",
        "goal": "Naming feelings calmly",
        "phrase": "I feel upset when you take my toys without asking.",
        "target_emotion": "calm",
        "difficulty": 3,
        "instructions": "It's fine to feel upset. Keep your voice calm and steady, not loud, "
        "so the other person can listen.",
    },
    {
        "key": "worried-fearful",
        "title": "Saying I'm worried",
        "goal": "Telling a grown-up about a worry",
        "phrase": "I'm a bit scared of the big dog.",
        "target_emotion": "fearful",
        "difficulty": 3,
        "instructions": "Let your voice show that you feel a little worried, so a grown-up "
        "knows you need help.",
    },
)
