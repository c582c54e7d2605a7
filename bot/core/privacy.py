"""The one redaction step: personal data masked inside a text before it is stored, logged or shown.

Citizens sometimes write what nobody should keep: a CPR number, a password, PIN or MitID code, a phone number,
an e-mail address. The bot never asks for them (a phone number for a call-back is the booking's own question,
and its hook reads the raw text inside the process). Everything that is stored or logged — turns, hand-over
messages in both directions, the admins' inbox, notices and the outbox, log records — passes `redact` first.

Only the secret itself is masked, not the whole message: "min kode til mitid er [kode]" still tells the
intent model and the eMentor what the citizen needs. The markers are short, readable in Danish and English,
and never look like a secret themselves.

Matching runs on a folded copy of the text of the same length (full-width and other Unicode digits as ASCII
digits, every dash as "-", odd spaces as " "), so "０１０１９０‑１２３４" is found while the citizen's own
characters are kept everywhere else. A CPR number needs a real day (01-31) and month (01-12), so dates,
times, prices, booking references and phone numbers survive. Pure functions.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

CPR = "cpr"
CODE = "code"
PHONE = "phone"
EMAIL = "email"
NUMBER = "number"
SECRETS = frozenset({CPR, CODE})  # never needed by anyone: the message is answered without them
EVERY_KIND = frozenset({CPR, CODE, PHONE, EMAIL, NUMBER})

MARKERS = {
    CPR: "[cpr-nummer]",
    CODE: "[kode]",
    PHONE: "[telefon]",
    EMAIL: "[e-mail]",
    NUMBER: "[nummer]",
}
REMOVED_PREFIX = "[removed:"  # a whole message kept as a marker (older rows; a private booking answer)

_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u00ad"
_FOLD = {**{ch: "-" for ch in _DASHES}, "\uff0f": "/", "\u2215": "/", "\uff0e": ".", "\u3002": "."}


def fold(text: str) -> str:
    """A copy of `text` of the same length for matching: any decimal digit as ASCII, dashes as "-", full-width
    slash and dot as ASCII, any space as " ". Positions line up with the original, so spans map back."""
    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
        elif ch in _FOLD:
            out.append(_FOLD[ch])
        elif ch.isspace():
            out.append(" ")
        elif (digit := unicodedata.decimal(ch, None)) is not None:
            out.append(str(digit))
        else:
            out.append(ch)
    return "".join(out)


# ---- CPR numbers ----------------------------------------------------------------------------------------
_SEP = r"[ ]*[-/. ]?[ ]*"  # "-", "/", ".", spaces, " - " between the groups
_CPR = re.compile(
    r"(?<!\d)(?<!\d[.,/-])"
    rf"(?P<day>[0-3]\d)(?:{_SEP})(?P<month>[01]\d)(?:{_SEP})(?P<year>(?:19|20)?\d\d)"
    rf"{_SEP}(?P<tail>\d{{4}})"
    r"(?!\d)(?![.,/-]\d)"
)


def _is_cpr(match: re.Match[str]) -> bool:
    day, month, year = int(match["day"]), int(match["month"]), match["year"]
    # twelve digits in one run (a four-digit year, no separator) is not how anyone writes a CPR number
    run_of_twelve = len(year) == 4 and match.group().replace(" ", "").isdigit()
    return 1 <= day <= 31 and 1 <= month <= 12 and not run_of_twelve


# ---- phone numbers and e-mail addresses -----------------------------------------------------------------
_PHONE = re.compile(
    r"(?<![\w+.,/-])(?<!\d[ ])"
    r"(?:(?:\+|00)[ ]?45[ ]?(?:\(0\))?[ ]?)?"
    r"(?:[1-9]\d{7}|[1-9]\d(?:[ -]\d\d){3}|[1-9]\d{3}[ ]\d{4})"
    r"(?![\w]|[.,-]\d|[ ]\d)"
)
_YEARS = re.compile(r"(?:19|20)\d\d(?:19|20)\d\d")  # "2024 2025": two years, not a phone number
# starts only where an address can start, parts bounded: a long run of word characters is not scanned twice
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}", re.UNICODE)
# nine or more digits in one run with the spaces, dots and dashes people type (an account or card number)
_LONG_NUMBER = re.compile(r"(?<![\w.,])(?:\d{9,}|\d{3,}(?:[ -]\d{3,})+)(?![\w]|[.,]\d)")

# ---- codes and passwords --------------------------------------------------------------------------------
_CODE_WORD = (
    r"(?:mitid[- ]?|nem[- ]?id[- ]?|engangs|log[- ]?ind[- ]?|login[- ]?|bank[- ]?|noegle|nøgle|pin[- ]?|"
    r"adgangs[- ]?|sikkerheds)?"
    r"(?:kode(?:n|rne|r|ord|ordet)?|password(?:et)?|passw|pass|pwd|pw|pin(?:koden|kode|nummer|nummeret|en)?|"
    r"code|passcode|passphrase)"
)
_QUALIFIER = (
    r"(?:[ ]+(?:til|for|to|på|paa|on|fra|from|i|in|of|af|med)[ ]+"
    r"(?:min[ ]+|mit[ ]+|mine[ ]+|my[ ]+|the[ ]+|den[ ]+|det[ ]+)?[\w.-]+){0,2}"
)
_CONNECTOR = r"(?:[ ]*(?::|=)[ ]*|[ ]+(?:er|is|was|var|lyder|hedder|are)(?:[ ]+(?:nu|now|stadig|still))?[ ]*:?[ ]*)"
_NOT_THAT_CODE = (  # "[kode]", "QR-koden", "zip code 2300", "fejl kode 404": not a secret's code
    r"(?<!\[)(?<!-)(?<!/)(?<!postal )(?<!zip )(?<!area )(?<!error )(?<!fejl )(?<!qr )(?<!promo )(?<!rabat )"
)
_CODE_WITH = re.compile(
    rf"\b{_NOT_THAT_CODE}{_CODE_WORD}{_QUALIFIER}{_CONNECTOR}[\"'«»“”]?(?P<value>[^\s\"'«»“”]+)",
    re.IGNORECASE,
)
_CODE_BARE = re.compile(rf"\b{_NOT_THAT_CODE}{_CODE_WORD}[ ]+[\"'«»“”]?(?P<value>[^\s\"'«»“”]+)", re.IGNORECASE)

# what follows "koden er" when a citizen talks about a code rather than giving it
_NOT_A_CODE = frozenset(
    {"ikke", "not", "forkert", "forkerte", "wrong", "glemt", "forgot", "forgotten", "spærret", "sperret",
     "spaerret", "blocked", "locked", "virker", "virkede", "working", "work", "works", "godkendt", "udløbet",
     "udlobet", "expired", "ugyldig", "invalid", "den", "det", "min", "mit", "my", "the", "for", "ok", "okay",
     "nødvendig", "nodvendig", "needed", "required", "rigtig", "rigtigt", "right", "correct", "korrekt", "gammel",
     "old", "ny", "new", "blevet", "been", "lost", "mistet", "væk", "vaek", "gone", "blokeret", "låst", "laast",
     "lukket", "closed", "nulstillet", "reset", "kommet", "sendt", "sent", "også", "ogsaa", "too", "also",
     "stadig", "still", "altid", "always", "længere", "laengere", "meget", "very", "hvad", "what", "til", "to",
     "på", "paa", "i", "in", "og", "and", "eller", "or", "men", "but", "fordi", "because", "som", "that", "der",
     "er", "is", "a", "an", "en", "et", "jeg", "i'm", "du", "you", "skal", "kan", "vil", "må", "maa", "should",
     "can", "will", "must", "have", "has", "had", "har", "havde", "fra", "from", "med", "with", "af", "of",
     "igen", "again", "nu", "now", "helt", "bare", "lige", "just", "måske", "maaske", "maybe", "hvordan", "how",
     "hvor", "where", "hvorfor", "why", "hvis", "if", "når", "naar", "when", "ved", "know", "virke",
     "fungerer", "duer", "kode", "koden", "code", "password", "adgangskode", "adgangskoden", "pinkode",
     "pinkoden", "pin", "mitid", "nemid", "jobnet", "e-boks", "eboks", "borger.dk", "appen", "app", "brev",
     "brevet", "sms", "sms'en", "mail", "mailen", "skiftet", "ændret", "aendret", "changed", "change", "skifte",
     "ændre", "aendre", "lave", "make", "få", "faa", "get", "finde", "find", "huske", "remember", "indtaste",
     "enter", "type", "skrive", "write", "bruge", "use", "ikk", "ik", "ikek", "ikkke", "forkret", "glemmt",
     "stemmer", "passer", "hjælp", "hjaelp", "help", "please", "tak", "thanks", "mangler", "missing", "field",
     "felt", "feltet", "box", "boks", "fejl", "error", "problem", "problemer", "manager", "reader", "viser",
     "shows", "siger", "says", "skulle", "would", "could", "kunne", "ville", "incorrect", "unknown", "ukendt",
     "svær", "svaer", "hard", "lang", "long", "kort", "short", "ændres", "skiftes", "sat", "set", "ligegyldigt",
     "bruges", "længe", "vel", "jo", "så", "saa", "so", "da", "then", "stolen", "stjålet", "stjaalet",
     "tastet", "entered", "typed", "skrevet", "written", "sendes", "gemt", "saved", "valgt", "chosen", "hemmelig",
     "secret", "privat", "private", "personlig", "personal", "mine", "dine", "your", "din", "dit", "hans", "hendes",
     "his", "her", "our", "vores", "their", "deres", "this", "denne", "dette", "here", "fjernet", "removed",
     "skjult", "skjulte", "hidden", "display", "kodeviser", "app'en", "via", "digital", "post", "skat", "mit.dk",
     "sundhed.dk", "netbank", "bank", "banken", "kortet", "card", "nemkonto", "a-kasse", "a-kassen", "jobcenter",
     "jobcentret"}
)  # fmt: skip


def _a_code(value: str, bare: bool) -> bool:
    """Whether the word after "koden er" (or, `bare`, straight after "password") is a code and not talk."""
    if value[:1] in "([{<":  # "PIN code (MitID.dk)": an aside, not a value
        return False
    value = value.strip(".,!?;:)(][\"'«»“”")
    if len(value) < 3 or value.casefold() in _NOT_A_CODE:
        return False
    if any(ch.isdigit() for ch in value) or not value.isalpha():
        return True
    if bare:  # "password Solskin": a capitalised or mixed-case word; "password reset" stays
        return any(ch.isupper() for ch in value)
    return len(value) >= 4


# words that only name or introduce a secret: "mit cpr nummer er …", "her er min kode: …"
_NAMING = frozenset(
    {"mit", "min", "my", "cpr", "nr", "cprnr", "nummer", "number", "cprnummer", "personnummer", "personnumer",
     "personnr", "persnr", "personal", "id", "er", "is", "her", "here", "det", "it", "kode", "koden", "code",
     "adgangskode", "adgangskoden", "password", "passwordet", "pin", "pinkode", "pinkoden", "kodeord", "og",
     "and", "the", "til", "to", "mitid", "nemid", "jobnet", "hej", "hi", "hello", "tak", "thanks", "pw",
     "pwd", "passw", "kodeordet", "sikkerhedskode", "engangskode", "engangskoden", "mitidkode", "mitidkoden"}
)  # fmt: skip


@dataclass(frozen=True)
class Redacted:
    """A text as it may be kept, and which kinds of personal data were masked in it."""

    text: str
    kinds: frozenset[str] = frozenset()

    @property
    def secret(self) -> bool:
        """A CPR number or a code: never needed, the citizen is told not to send it."""
        return bool(self.kinds & SECRETS)

    @property
    def only_secret(self) -> bool:
        """Nothing but a CPR number or a code, and words naming it ("mit cpr er …"): nothing to answer but
        the warning."""
        words = re.findall(r"[^\W_]+", self.rest.casefold())
        return self.secret and all(w in _NAMING for w in words)

    @property
    def rest(self) -> str:
        """The words left when the markers are taken out: what the message says besides the secret."""
        out = self.text
        for marker in MARKERS.values():
            out = out.replace(marker, " ")
        return " ".join(out.split())


def redact(text: str, kinds: frozenset[str] = EVERY_KIND) -> Redacted:
    """`text` with CPR numbers, codes and passwords, e-mail addresses, phone numbers and long numbers masked
    where they stand; the rest of the citizen's words as written. `kinds` narrows what is masked: an eMentor's
    or the bot's own words may name a support line's number, never a CPR number or a code (`SECRETS`)."""
    if not text:
        return Redacted(text)
    folded = fold(text)
    spans: list[tuple[int, int, str]] = []

    def add(start: int, end: int, kind: str) -> None:
        if kind in kinds and not any(s < end and start < e for s, e, _ in spans):
            spans.append((start, end, kind))

    for m in _EMAIL.finditer(folded):
        add(m.start(), m.end(), EMAIL)
    for m in _CPR.finditer(folded):
        if _is_cpr(m):
            add(m.start(), m.end(), CPR)
    for pattern, bare in ((_CODE_WITH, False), (_CODE_BARE, True)):
        for m in pattern.finditer(folded):
            value = m.group("value")
            if _a_code(value, bare):
                start = m.start("value")
                end = start + len(value.rstrip(".,!?;:)"))
                add(start, end, CODE)
    for m in _PHONE.finditer(folded):
        if not _YEARS.fullmatch(m.group().replace(" ", "")):
            add(m.start(), m.end(), PHONE)
    for m in _LONG_NUMBER.finditer(folded):
        if sum(ch.isdigit() for ch in m.group()) >= 9:
            add(m.start(), m.end(), NUMBER)
    if not spans:
        return Redacted(text)
    spans.sort()
    out, at = [], 0
    for start, end, kind in spans:
        out.append(text[at:start])
        out.append(MARKERS[kind])
        at = end
    out.append(text[at:])
    return Redacted("".join(out), frozenset(kind for _, _, kind in spans))


def redacted(text: str, kinds: frozenset[str] = EVERY_KIND) -> str:
    """Just the text of `redact(text, kinds)`: for the places that only store or log."""
    return redact(text, kinds).text


def redacted_values(value: Any, kinds: frozenset[str] = EVERY_KIND) -> Any:
    """`value` (JSON-like: dicts, lists, strings, numbers) with every string redacted; numbers and keys kept,
    so ids and counts in a notice's body stay what they are."""
    if isinstance(value, str):
        return redacted(value, kinds)
    if isinstance(value, dict):
        return {key: redacted_values(item, kinds) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redacted_values(item, kinds) for item in value]
    return value


def is_removed(text: str) -> bool:
    """A whole message replaced by a marker: nothing in it to teach the model."""
    return text.startswith(REMOVED_PREFIX)


def holds_personal(text: str) -> bool:
    """Whether redaction would change the text: it holds something personal (or is already a marker)."""
    return is_removed(text) or bool(redact(text).kinds) or any(m in text for m in MARKERS.values())


class RedactingFilter(logging.Filter):
    """A log filter that masks personal data in every record's message (its arguments merged first), so a
    citizen's words that reach a log line — a failed request, an error quoting a value — are kept redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        clean = redact(message).text
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(formatted).text
        return True
