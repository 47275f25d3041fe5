"""Practice attempts: how one short try of a child's voice is scored (``assess``) and the words
said about it (``feedback``). Django-free; ``sessions.exercises.services`` loads the attempt and
stores the result."""
