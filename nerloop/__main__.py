"""The ``nerloop`` command (``python -m nerloop`` too): the CLI of ``nerloop.cli``, started cheaply.

The CLI's imports (typer, the Label Studio SDK, the settings models) run with Python's cyclic collector paused
(``inference.collector``: 0.4 s of a 1.8 s start on 2 cores). Before the process exits, everything alive is frozen
(``gc.freeze``) so the interpreter's exit does not rescan a loaded model's objects either (1.5 s of a
``nerloop predict`` on 2 cores). Both only change when cyclic garbage is collected, never what is freed.
"""

import gc

from inference.collector import collector_paused


def main() -> None:
    with collector_paused():
        from nerloop.cli import main as run
    try:
        run()
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()
