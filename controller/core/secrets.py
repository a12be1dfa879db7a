"""What a secret looks like, and how to mask it in a document or a text.

One set of rules for every output (plan, status files, rollback markers, logs): a value is
masked when the name it sits under looks secret (``DB_PASSWORD``, ``apiToken``), whatever its
type, and, whatever its name, when the value itself has the shape of a secret: credentials in a
URL, an AWS access key (and a secret key next to one), a private key, or a long random token.
The controller's and AWS's own names (ARNs, digests, commit shas, task ids, UUIDs) look random
too and are never masked. Every rule and exception is data below, with why it is there.

Purely computational.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

MASK = "***"

# --- names -------------------------------------------------------------------------------------

# Parts of a name (matched in its snake_case form, so ``apiToken`` is ``api_token``) saying its
# value is a secret.
_SECRET_NAME = re.compile(
    r"""
      secret | token | passw(?:or)?d | passphrase | credential | cookie
    | authori[sz]ation | signature
    | [_.-](?:pass|pwd)$                # DB_PASS, DB_PWD (not PWD, the working directory)
    | (?:^|[_.-])                       # a key qualified as one that opens or signs something
      (?:private|api|access|session|signing|encryption|master|client|app|license|ssh|gpg
        |pgp|jwt|hmac|aes|rsa|stripe|auth)
      [_.-]?keys?(?:$|[_.-])
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Names that match the rule above but point at a secret rather than hold it: their values are
# references (``DB_PASSWORD_SECRET_ARN``, ``TOKEN_FILE=/run/secrets/token``).
_REFERENCE_NAME = re.compile(r"[_.-](?:arns?|file|path)$", re.IGNORECASE)
# camelCase word boundaries, turned into ``_`` before the rules above are applied
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def looks_secret_name(name: str) -> bool:
    """Whether a variable or field of this name holds a secret (``DB_PASSWORD``, ``apiToken``)."""
    snake = _CAMEL.sub("_", name)
    return bool(_SECRET_NAME.search(snake)) and not _REFERENCE_NAME.search(snake)


# --- never secrets -----------------------------------------------------------------------------

# Spans of text that are the controller's or AWS's own names: nothing inside them is masked, by
# name or by shape (the ARN of a Secrets Manager secret says ``secret:`` and is no secret).
_PROTECTED = re.compile(
    "|".join(
        (
            # ARNs: task definitions, target groups, roles, the ARN a `secrets` entry points at
            r"\barn:aws[a-z-]*:[^\s\"'`,;()<>\[\]{}]*",
            # digests: images (`@sha256:`), our desiredState and task definition digests
            r"\bsha(?:1|256|384|512):[0-9a-fA-F]{32,}",
        )
    )
)
# Whole tokens that look random but are identifiers. Hex of these lengths only: any other long
# hex string is masked.
_IDENTIFIER_TOKEN = re.compile(
    "|".join(
        (
            r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",  # UUID
            r"[0-9a-fA-F]{32}",  # a UUID without dashes: ECS task and container ids
            r"[0-9a-fA-F]{40}",  # a git commit sha (SHA-1)
            r"[0-9a-fA-F]{64}",  # a SHA-256 digest written without its `sha256:` prefix
        )
    )
)

# --- secret shapes -----------------------------------------------------------------------------

# A private key in PEM form, to its END line (or to the end of a truncated text).
_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
# ``scheme://user:password@``: the whole user-info goes (tokens often sit in the user part).
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s'\"`]+@")
# AWS access key ids: long-term (AKIA) and temporary (ASIA).
_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
# A 40-character AWS secret access key; only searched in a text that holds an access key id,
# since alone this shape is also a path or an identifier.
_SECRET_ACCESS_KEY = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
# ``NAME=value``, ``NAME: value``, ``"NAME": "value"``; masked when NAME looks secret. The value
# runs to the next space or delimiter; an HTTP auth scheme takes the word after it along.
_PAIR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*(?=[\"']?\s*[=:])")
_PAIR_VALUE = re.compile(
    r"[\"']?\s*[=:]\s*[\"']?((?:(?:Bearer|Basic|Token|Digest)\s+)?[^\s\"',;&]+)"
)
# validate's message about an environment entry's value names the entry by index, not by name,
# so whether it is secret cannot be told: the value it quotes is masked whatever it is
# (``environment[2].value: expected a string, got 123456 (quote it: '123456')``).
_ENVIRONMENT_VALUE_MESSAGE = re.compile(
    r"(?P<head>environment\[[^\]\n]*\]\.value: [^\n]*?\bgot )(?P<value>[^\s(]+)"
    r"(?P<hint> \(quote it: '[^'\n]*'\))?"
)
# Candidates for a random token: 32+ characters of the base64 / base64url alphabets.
_TOKEN = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/=_-])")
# The fewest letters and digits a random part needs; in a token of ``/``-separated parts, a part
# this long is judged on its own (a URL path keeps its readable parts: ``/hooks/***/health``).
_MIN_PART = 24
_HEX = re.compile(r"[0-9a-fA-F]+")
# Slashes in a base64 secret judged whole (40 characters hold 0 to 3); paths have more.
_MAX_SLASHES = 3
_VOWELS = frozenset("aeiouAEIOU")


@dataclass(frozen=True)
class _Measure:
    """What tells a random token from words: measured on its letters and digits only."""

    changes: float  # share of neighbours that change between upper case, lower case and digit
    vowels: float  # share of the letters that are vowels: about 0.38 in words, 0.19 at random
    digits: float  # share of digits
    entropy: float  # Shannon entropy, bits per character

    @staticmethod
    def of(alnum: str) -> _Measure:
        def kind(char: str) -> int:
            return 0 if char.isdigit() else 1 if char.isupper() else 2

        letters = [c for c in alnum if c.isalpha()]
        counts = Counter(alnum).values()
        return _Measure(
            changes=sum(kind(a) != kind(b) for a, b in pairwise(alnum)) / (len(alnum) - 1),
            vowels=sum(c in _VOWELS for c in letters) / max(1, len(letters)),
            digits=sum(c.isdigit() for c in alnum) / len(alnum),
            entropy=-sum(n / len(alnum) * math.log2(n / len(alnum)) for n in counts),
        )


@dataclass(frozen=True)
class _RandomRule:
    """A token is random when its measure passes every bound of one rule."""

    min_changes: float = 0.0
    max_vowels: float = 1.0
    min_digits: float = 0.0
    min_entropy: float = 0.0

    def matches(self, m: _Measure) -> bool:
        return (
            m.changes >= self.min_changes
            and m.vowels < self.max_vowels
            and m.digits >= self.min_digits
            and m.entropy >= self.min_entropy
        )


# Measured on random tokens against 50,000 identifiers, paths and words from AWS's API models and
# Python sources: these flag about 0.3% of the identifiers (mostly real examples of random ids)
# and miss under 1% of mixed-case tokens and under 10% of single-case ones.
_RANDOM_RULES = (
    # mixed-case base64: the case or a digit changes at 6 neighbours in 10; in identifiers
    # (``ContainerDefinitions``, ``k8s-production-east-1``) at word boundaries only, under 4
    _RandomRule(min_changes=0.42),
    # one case, letters too short of vowels to be words, and varied
    _RandomRule(max_vowels=0.25, min_entropy=4.0),
    # digits among letters that are not words (``xoxb-123456789012-...``, ``k3j9x0...``)
    _RandomRule(min_digits=0.25, max_vowels=0.3, min_changes=0.2),
)
# Hex (any length but the identifiers' above) is random when not a repetition (``abab...``).
_MIN_HEX_ENTROPY = 3.0


def _looks_random(token: str, *, rules: tuple[_RandomRule, ...] = _RANDOM_RULES) -> bool:
    """Whether a long token is a random secret rather than an identifier or a word."""
    core = token.rstrip("=")
    if _IDENTIFIER_TOKEN.fullmatch(core):
        return False
    alnum = "".join(c for c in core if c.isalnum())
    if len(alnum) < _MIN_PART:  # mostly separators: a rule line, a path of short names
        return False
    measure = _Measure.of(alnum)
    if _HEX.fullmatch(alnum):
        letters_and_digits = 0 < measure.digits < 1
        return letters_and_digits and measure.entropy >= _MIN_HEX_ENTROPY
    return any(rule.matches(measure) for rule in rules)


def looks_secret_value(value: str) -> bool:
    """Whether ``value`` holds a secret by its shape alone (whatever the name it sits under)."""
    return mask_text(value) != value


# --- masking -----------------------------------------------------------------------------------


def _mask_pairs(text: str) -> str:
    # one name at a time, so that a pair inside another's value (a URL's ``?password=``) is
    # still found
    parts: list[str] = []
    position = 0
    while name := _PAIR_NAME.search(text, position):
        value = _PAIR_VALUE.match(text, name.end())
        if value is not None and looks_secret_name(name[0]):
            parts += [text[position : value.start(1)], MASK]
            position = value.end()
        else:
            parts.append(text[position : name.end()])
            position = name.end()
    parts.append(text[position:])
    return "".join(parts)


def _mask_environment_value(match: re.Match[str]) -> str:
    return match["head"] + MASK + (f" (quote it: '{MASK}')" if match["hint"] else "")


def _mask_unprotected(text: str, *, near_access_key: bool) -> str:
    text = _PRIVATE_KEY.sub(MASK, text)
    text = _URL_USERINFO.sub(rf"\g<scheme>{MASK}@", text)
    if near_access_key:
        text = _SECRET_ACCESS_KEY.sub(
            lambda m: m[0] if _HEX.fullmatch(m[0]) else MASK,
            text,
        )
    text = _ACCESS_KEY_ID.sub(MASK, text)
    text = _mask_pairs(text)
    text = _ENVIRONMENT_VALUE_MESSAGE.sub(_mask_environment_value, text)
    return _TOKEN.sub(_mask_token, text)


def _mask_token(match: re.Match[str]) -> str:
    token = match[0]
    parts = token.split("/")
    if len(parts) == 1:
        return MASK if _looks_random(token) else token
    # a path: its long random parts alone, else the whole token when it is a few random parts
    # around slashes (an AWS secret key) rather than a path of names
    masked = [MASK if len(p) >= _MIN_PART and _looks_random(p) else p for p in parts]
    if masked != parts:
        return "/".join(masked)
    few_parts = not token.startswith("/") and len(parts) <= _MAX_SLASHES + 1
    return MASK if few_parts and _looks_random(token, rules=_RANDOM_RULES[:1]) else token


def mask_text(text: str) -> str:
    """``text`` with every secret-shaped part and every secret-named ``NAME=value`` masked."""
    near_access_key = bool(_ACCESS_KEY_ID.search(text))
    parts: list[str] = []
    start = 0
    for protected in _PROTECTED.finditer(text):
        before = text[start : protected.start()]
        parts += [_mask_unprotected(before, near_access_key=near_access_key), protected[0]]
        start = protected.end()
    parts.append(_mask_unprotected(text[start:], near_access_key=near_access_key))
    return "".join(parts)


def _is_reference(value: object) -> bool:
    """An ARN is where a secret is kept (a ``secrets`` entry's ``valueFrom``), not the secret."""
    return isinstance(value, str) and bool(_PROTECTED.fullmatch(value.strip()))


def mask_named(name: str, value: Any) -> Any:
    """``value`` as it may be shown under ``name``: all of it when the name looks secret.

    Numbers and booleans are masked like strings (``DB_PASSWORD: 123456``); a mapping or list
    under a secret name is masked item by item (the ``secrets`` of a container hold ARNs).
    """
    if value is None or value == "" or isinstance(value, Mapping | list | tuple):
        return mask_document(value)  # an empty value has nothing to hide
    if looks_secret_name(name) and not _is_reference(value):
        return MASK
    return mask_document(value)


# ``{"name": N, "value": V}`` (ECS environment), ``{"key": K, "value": V}`` (tags): V is masked
# by N, the entry's name, rather than by "value".
_PAIR_FIELDS = (("name", "value"), ("Name", "Value"), ("key", "value"), ("Key", "Value"))


def mask_document(document: Any) -> Any:
    """A copy of a JSON-like value with secrets masked by name (every level) and by shape."""
    if isinstance(document, str):
        return mask_text(document)
    if isinstance(document, Mapping):
        entry = next(
            (
                (name_field, value_field)
                for name_field, value_field in _PAIR_FIELDS
                if isinstance(document.get(name_field), str) and value_field in document
            ),
            None,
        )
        masked: dict[Any, Any] = {}
        for key, item in document.items():
            if entry is not None and key == entry[1]:
                masked[key] = mask_named(str(document[entry[0]]), item)
            elif isinstance(key, str):
                masked[key] = mask_named(key, item)
            else:
                masked[key] = mask_document(item)
        return masked
    if isinstance(document, list | tuple):
        return [mask_document(item) for item in document]
    return document


# The name a diff path ends in: ``environment[DB_PASSWORD]`` -> DB_PASSWORD, ``a.b`` -> b.
_LAST_NAME = re.compile(r"(?:\[(?P<key>[^\]]*)\]|(?P<field>[^.\[\]]+))$")


def mask_at(path: str, value: Any) -> Any:
    """``value`` as it may be shown at a diff path (``containerDefinitions[web].environment[X]``)."""
    last = _LAST_NAME.search(path)
    if last is None:
        return mask_document(value)
    return mask_named(last["key"] if last["key"] is not None else last["field"], value)
