"""Refusals: what the core raises when it will not do what a person asked.

Each says what to tell the person, in their language, and for a form which field to show it
under; the listeners' one error path (handlers/errors.py) answers with it, whatever the
capability. Nothing has changed when one is raised.
"""

from __future__ import annotations


class Refusal(Exception):
    """A request Jerry refuses; `message(lang)` is the answer to the person.

    Not an OSError (PermissionError) nor a LookupError: those mean an outage to the listeners
    that catch database errors."""

    field: str = ""  # the form field the answer belongs under ("": the form's first one)

    def message(self, lang: str) -> str:
        raise NotImplementedError
