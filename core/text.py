"""A message in both languages: the library says it, the page or the CLI chooses the language.

The library never imports Streamlit: it returns (or raises an :class:`~core.errors.InputError`
holding) a :class:`Text`; a page shows ``text.get(lang())``, the CLI prints ``str(text)``
("中文 / English", the form every bilingual message of the product has).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    """One message, in Chinese and in English."""

    zh: str
    en: str

    @classmethod
    def same(cls, text: object) -> Text:
        """Text that reads the same in both languages (a name or a header as the user wrote it)."""
        return cls(str(text), str(text))

    def get(self, lang: str) -> str:
        """The message in ``lang`` (``en``; anything else is Chinese)."""
        return self.en if lang == "en" else self.zh

    def __str__(self) -> str:
        return self.zh if self.zh == self.en else f"{self.zh} / {self.en}"

    def dumps(self) -> str:
        """The message as stored in a text column (JSON); :meth:`loads` reads it back."""
        return json.dumps({"zh": self.zh, "en": self.en}, ensure_ascii=False)

    @classmethod
    def loads(cls, stored: object) -> Text:
        """A message stored by :meth:`dumps`; any other text (an older note) is the same in both languages."""
        text = "" if stored is None or stored != stored else str(stored)  # None or NaN: empty
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            if isinstance(data, dict) and isinstance(data.get("zh"), str) and isinstance(data.get("en"), str):
                return cls(data["zh"], data["en"])
        return cls.same(text)


def join(parts: Iterable[Text], zh: str = "；", en: str = "; ") -> Text:
    """The messages one after another, with each language's separator."""
    items = list(parts)
    return Text(zh.join(p.zh for p in items), en.join(p.en for p in items))


def in_language(message: object, lang: str) -> str:
    """A :class:`Text`, or an error raised with one, in ``lang``; anything else as it is."""
    if isinstance(message, BaseException) and message.args and isinstance(message.args[0], Text):
        message = message.args[0]
    return message.get(lang) if isinstance(message, Text) else str(message)
