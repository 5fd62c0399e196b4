"""Refusals: what the core raises when it will not do what a person asked.

Each says what to tell the person, in their language, and for a form which field to show it
under; the listeners' one error path (handlers/errors.py) answers with it, whatever the
capability. Nothing has changed when one is raised.
"""

from __future__ import annotations

from bot.i18n import t


class Refusal(Exception):
    """A request Jerry refuses; `message(lang)` is the answer to the person.

    Not an OSError (PermissionError) nor a LookupError: those mean an outage to the listeners
    that catch database errors."""

    field: str = ""  # the form field the answer belongs under ("": the form's first one)

    def message(self, lang: str) -> str:
        raise NotImplementedError


class KeyedRefusal(Refusal):
    """A refusal said by a catalog key and its params; `str()` is the English text (the CLI
    and the logs), `message(lang)` the person's."""

    def __init__(self, key: str, **params: object) -> None:
        self.key, self.params = key, params
        super().__init__(t(key, "en", **params))

    def message(self, lang: str) -> str:
        return t(self.key, lang, **self.params)

    def text(self, lang: str) -> str:
        return self.message(lang)
