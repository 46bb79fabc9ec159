"""The entry points: `complaints` and its commands, `complaints run` (local), and (top-level)
worker.py. Each builds its parts through engine.composition; nothing below them imports them
(tests/unit/test_layers.py)."""
