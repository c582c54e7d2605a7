"""A typed answer understood as the button it means, against the question on screen. Pure.

Citizens type where a button was offered: "ja", "2", "den første", "android", "passport", "appen er spæret",
the label itself without æøå. `match_answer` tries, in order:

1. a whole label of two words or more, alone or inside a sentence ("ja book en tid" → "Book en tid";
   "Jeg kan ikke komme, jeg er syg" → "Jeg kan ikke komme");
2. yes or no, for the button whose role is yes or no: a message of only yes- or no-words and filler ("ja
   tak", "det virkede", "👍" / "nej tak", "det virker ikke"), one that starts with a plain yes or no ("yes i
   have mitid", "nej desværre"), or a short one that says no ("ikke medlem", "den passer ikke");
3. a place in the list: "2", "nr. 2", "den anden", "the second one", "sidste" (the last option, not a way
   back such as "Andet sted");
4. the words that single one button out, in either language and with typos ("android", "spæret" for
   "spærret", "larkevej" for "Lærkevej", "del tid" for "deltid").

A guess is never made between two buttons that fit equally well: then nothing fits, and the question is
asked again. The words of each kind live in flows/ui/answers.yml.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.messages import Button
from bot.core.text import fold
from bot.flows.answers import AnswerWords
from bot.nlu.normalize import tokenize

_NOT = re.compile(r"n[’']t\b", re.IGNORECASE)  # "don't" -> "dont", "doesn't" -> "doesnt"
MIN_COVERAGE = 0.5  # at least half of what was typed must point at the button
SHORT_NO = 6  # a message of at most this many words with a "not" in it, and no yes, is a no
MAX_WEAK = 8  # a sentence this long that names one button, but says more, fits it weakly
MIN_LEAD = 0.1  # and it must fit clearly better than the next button


@dataclass(frozen=True)
class Match:
    index: int  # which of the buttons
    how: str  # "yes" | "no" | "ordinal" | "label"


def tokens(text: str) -> list[str]:
    return tokenize(fold(_NOT.sub("nt", text[:300])))


LEADING_YES = frozenset({"ja", "jo", "jep", "yes", "yeah", "yep", "yup", "ok", "okay", "sure", "fint", "super"})
LEADING_NO = frozenset({"nej", "no", "nope", "nah", "nix"})


def answer_polarity(text: str, words: AnswerWords) -> str | None:
    """ "yes" or "no" when the message answers yes or no, else None (see the module's rule 2)."""
    content = [t for t in tokens(text) if t not in words.filler]
    if not content:
        return None
    said_no = any(t in words.no for t in content)
    if all(t in words.yes or t in words.no for t in content):
        return "no" if said_no else "yes"
    if content[0] in LEADING_NO:
        return "no"
    if content[0] in LEADING_YES:
        return None if said_no else "yes"  # "ja, det virker ikke": a yes and a no, asked again
    if said_no and len(content) <= SHORT_NO and not any(t in words.yes for t in content):
        return "no"
    return None


def ordinal(text: str, words: AnswerWords) -> str | None:
    """ "1", "2" … or "last" for "2", "nr. 2", "den anden", "the second one", "sidste"; else None."""
    content = [t for t in tokens(text) if t not in words.ordinal_filler]
    if not content:
        return None
    joined = " ".join(content)
    if joined.isdigit() and len(joined) <= 2:
        return str(int(joined))
    return words.ordinals.get(joined)


def match_answer(text: str, buttons: Sequence[Button], words: AnswerWords) -> Match | None:
    """The button `text` means, or None when it fits none (or two equally)."""
    if not buttons:
        return None
    typed = tokens(text)
    whole = _whole_label(typed, buttons, words)
    if whole is not None:
        return whole
    polarity = answer_polarity(text, words)
    if polarity is not None:
        fitting = [i for i, b in enumerate(buttons) if b.role == polarity]
        return Match(fitting[0], polarity) if len(fitting) == 1 else None
    place = ordinal(text, words)
    if place is not None:
        options = [i for i, b in enumerate(buttons) if b.role != "nav"]
        index = (options[-1] if options else -1) if place == "last" else int(place) - 1
        return Match(index, "ordinal") if 0 <= index < len(buttons) else None
    return _by_label(typed, buttons, words)


def _phrases(button: Button) -> list[list[str]]:
    return [p for p in (tokens(text) for text in (button.title, *button.words)) if p]


def _contains(haystack: list[str], needle: list[str]) -> bool:
    size = len(needle)
    return any(haystack[i : i + size] == needle for i in range(len(haystack) - size + 1))


def similarity(typed: str, word: str) -> float:
    """1 for the same word, 0.9 for one that starts the other ("mobil"/"mobilen"), 0.85 for one typo and
    0.7 for two (in longer words): "larkevej" is nearer "lerkevej" than "landevej"."""
    if typed == word:
        return 1.0
    shorter = min(len(typed), len(word))
    if shorter >= 4 and (typed.startswith(word) or word.startswith(typed)):
        return 0.9
    if shorter < 4 or typed.isdigit():
        return 0.0
    limit = 1 if shorter < 7 else 2
    distance = edit_distance(typed, word, limit)
    return {1: 0.85, 2: 0.7}.get(distance, 0.0) if distance <= limit else 0.0


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance with adjacent swaps, or limit + 1 once it is sure to exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, previous2[j - 2] + 1)
            current.append(value)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _whole_label(typed: list[str], buttons: Sequence[Button], words: AnswerWords) -> Match | None:
    """The whole label (or a listed phrase) typed, alone or, when it has two words or more, in a sentence —
    not when the sentence says "not" and the label does not ("det virker ik" is not "det virker")."""
    if not typed:
        return None
    negated = any(t in words.no for t in typed)
    phrases = [[p for p in _phrases(b) if not negated or any(t in words.no for t in p)] for b in buttons]
    whole = _prefer_options([i for i, ps in enumerate(phrases) if any(p == typed for p in ps)], buttons)
    if len(whole) == 1:
        return Match(whole[0], "label")
    inside = [
        (max(len(p) for p in ps if len(p) >= 2 and _contains(typed, p)), i)
        for i, ps in enumerate(phrases)
        if any(len(p) >= 2 and _contains(typed, p) for p in ps)
    ]
    if inside:
        inside.sort(reverse=True)
        if len(inside) == 1 or inside[0][0] > inside[1][0]:
            return Match(inside[0][1], "label")
    return None


def _by_label(typed: list[str], buttons: Sequence[Button], words: AnswerWords) -> Match | None:
    """The words that single one button out; two typed words written as one count ("del tid" → "deltid")."""
    phrases = [_phrases(b) for b in buttons]
    own = [{t for p in ps for t in p if t not in words.stopwords} for ps in phrases]
    options = [i for i, b in enumerate(buttons) if b.role != "nav"]
    counts = _counts(own)
    in_options = _counts([own[i] for i in options])
    # an option's word is its own even when a way out ("Tal med en eMentor") shares it
    distinctive = [
        {t for t in token_set if (in_options if i in options else counts)[t] == 1} for i, token_set in enumerate(own)
    ]
    known = set().union(*distinctive) if distinctive else set()
    content = [t for t in _joined(typed, known) if t not in words.stopwords and t not in words.filler]
    if not content:
        return None
    scored: list[tuple[float, int]] = []
    weak: list[tuple[float, int]] = []
    for i, marks in enumerate(distinctive):
        found = [max((similarity(t, m) for m in marks), default=0.0) for t in content]
        score = sum(found)
        if score and sum(1 for f in found if f) / len(content) >= MIN_COVERAGE:
            scored.append((score, i))
        elif score and len(content) <= MAX_WEAK:
            weak.append((score, i))
    if scored:
        return _clear_winner(scored, "label")
    if weak:  # one button named inside a longer sentence: right, unless the sentence is clearly about else
        return _clear_winner(weak, "weak")
    return None


def _counts(token_sets: Sequence[set[str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for token_set in token_sets:
        for token in token_set:
            counts[token] = counts.get(token, 0) + 1
    return counts


def _prefer_options(found: list[int], buttons: Sequence[Button]) -> list[int]:
    """Of several buttons that fit, the options rather than a way out ("Tal med en eMentor")."""
    options = [i for i in found if buttons[i].role != "nav"]
    return options if len(found) > 1 and len(options) == 1 else found


def _joined(typed: list[str], known: set[str]) -> list[str]:
    """Two typed words that together are a word of a button ("del tid" for "deltid") as that one word."""
    out: list[str] = []
    i = 0
    while i < len(typed):
        if i + 1 < len(typed) and typed[i] + typed[i + 1] in known:
            out.append(typed[i] + typed[i + 1])
            i += 2
        else:
            out.append(typed[i])
            i += 1
    return out


def _clear_winner(scored: list[tuple[float, int]], how: str) -> Match | None:
    scored.sort(reverse=True)
    if len(scored) > 1 and scored[0][0] - scored[1][0] < MIN_LEAD:
        return None
    return Match(scored[0][1], how)
