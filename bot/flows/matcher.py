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

A message that says several things ("jeg kan ikke komme, så aflys", "ikke aflyse, flytte", "that's better,
yes") is answered by its last part when that part alone names a button or says plainly yes or no (and nothing
before it says the opposite): what a citizen wants comes last; the reasons come first.

A guess is never made between two buttons that fit equally well: then nothing fits, and the question is
asked again. The words of each kind live in flows/ui/answers.yml.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.messages import Button
from bot.core.text import fold
from bot.flows.answers import AnswerWords
from bot.nlu.normalize import tokenize

_NOT = re.compile(r"n[’']t\b", re.IGNORECASE)  # "don't" -> "dont", "doesn't" -> "doesnt"
_IS = re.compile(r"[’']s\b", re.IGNORECASE)  # "that's" -> "that"
NEGATION = "~not"  # every "not" word ("ikke", "ingen", "dont") is one token when labels are compared
MIN_COVERAGE = 0.5  # at least half of what was typed must point at the button
SHORT_NO = 6  # a message of at most this many words with a "not" in it, and no yes, is a no
MAX_WEAK = 8  # a sentence this long that names one button, but says more, fits it weakly
MIN_LEAD = 0.1  # and it must fit clearly better than the next button


@dataclass(frozen=True)
class Match:
    index: int  # which of the buttons
    how: str  # "yes" | "no" | "ordinal" | "label" | "weak" (named in a sentence that says more)


def tokens(text: str) -> list[str]:
    return tokenize(fold(_IS.sub("", _NOT.sub("nt", text[:300]))))


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
    if said_no and len(content) <= SHORT_NO:
        return "no"  # "ikke medlem", "den passer ikke", "that doesn't work for me"
    return None


def _plain_polarity(typed: list[str], words: AnswerWords) -> str | None:
    """ "yes" or "no" for words that are only yes-, no- and filler words; else None."""
    content = [t for t in typed if t not in words.filler]
    if not content or not all(t in words.yes or t in words.no for t in content):
        return None
    return "no" if any(t in words.no for t in content) else "yes"


def _opposite(polarity: str) -> str:
    return "no" if polarity == "yes" else "yes"


_BREAK = re.compile(r"[,;:.!?]+")


def _last_part(text: str, words: AnswerWords) -> list[str] | None:
    """The words after the last comma, full stop or clause break ("så", "men", "hellere"); None for a message
    in one part."""
    parts: list[list[str]] = [[]]
    for piece in _BREAK.split(text[:300]):
        for token in tokens(piece):
            if token in words.clause_breaks:
                parts.append([])
            else:
                parts[-1].append(token)
        parts.append([])
    filled = [p for p in parts if p]
    return filled[-1] if len(filled) > 1 else None


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
    last = _last_part(text, words)
    if last is not None:
        said = _whole_label(last, buttons, words) or _by_label(last, buttons, words)
        if said is not None and said.how == "label":
            return said
        polarity = _plain_polarity(last, words)
        if polarity is not None and _opposite(polarity) not in {_plain_polarity([t], words) for t in typed}:
            fitting = [i for i, b in enumerate(buttons) if b.role == polarity]
            if len(fitting) == 1:
                return Match(fitting[0], polarity)
    polarity = answer_polarity(text, words)
    if polarity is not None:
        fitting = [i for i, b in enumerate(buttons) if b.role == polarity]
        if len(fitting) == 1:
            return Match(fitting[0], polarity)
        if fitting:
            return None  # two buttons answer yes: which one is not said
    place = ordinal(text, words)
    if place is not None:
        options = [i for i, b in enumerate(buttons) if b.role != "nav"]
        index = _position(place, options)
        return Match(index, "ordinal") if 0 <= index < len(buttons) else None
    return _by_label(typed, buttons, words)


def _position(place: str, options: list[int]) -> int:
    """The index of "the second", "the last" or "the middle" option (-1: there is none)."""
    if place == "last":
        return options[-1] if options else -1
    if place == "middle":
        return options[len(options) // 2] if len(options) % 2 == 1 else -1
    return int(place) - 1


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
    if (
        shorter >= 4
        and shorter >= 0.6 * max(len(typed), len(word))
        and (typed.startswith(word) or word.startswith(typed))
    ):
        return 0.9
    if shorter < 3 or typed.isdigit() or word.isdigit() or (shorter == 3 and max(len(typed), len(word)) < 4):
        return 0.0  # a three-letter word has a typo only when one letter too many was typed ("sjyg")
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
    negated = any(_negation(t, words) == NEGATION for t in typed)
    phrases = [
        [p for p in _phrases(b) if not negated or any(_negation(t, words) == NEGATION for t in p)] for b in buttons
    ]
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
    """The button whose words the typed words are: every word counts (with typos, word beginnings, and two
    words written as one), and "not" is one word, so "jeg har ikke pas" is "Jeg har ikke pas", not "Jeg har
    pas og smartphone". The best must fit clearly better than the next."""
    phrases = [_phrases(b) for b in buttons]
    own = [
        _with_pairs({_negation(t, words) for p in ps for t in p if _counts_in(t, words)}, ps, words) for ps in phrases
    ]
    known = set().union(*own) if own else set()
    content = [_negation(t, words) for t in _joined(typed, known) if _counts_in(t, words) and t not in words.filler]
    if not content:
        return None
    scored: list[tuple[float, int]] = []
    weak: list[tuple[float, int]] = []
    for i, marks in enumerate(own):
        found = [max((similarity(t, m) for m in marks), default=0.0) for t in content]
        if not any(f for t, f in zip(content, found, strict=True) if t != NEGATION):
            continue  # a "not" alone says nothing about which button
        score = sum(found)
        if score and sum(1 for f in found if f) / len(content) >= MIN_COVERAGE:
            scored.append((score, i))
        elif score and len(content) <= MAX_WEAK:
            weak.append((score, i))
    if scored:
        return _clear_winner(scored, buttons, "label")
    if weak:  # one button named inside a longer sentence: right, unless the sentence is clearly about else
        return _clear_winner(weak, buttons, "weak")
    return None


def _counts_in(token: str, words: AnswerWords) -> bool:
    """Whether a word can tell buttons apart: not a small word, except "not", which can."""
    return token not in words.stopwords or token in words.no


def _negation(token: str, words: AnswerWords) -> str:
    return NEGATION if token in words.no and token not in ("nej", "no") else token


def _with_pairs(token_set: set[str], phrases: list[list[str]], words: AnswerWords) -> set[str]:
    """A label's words and each two neighbours written as one ("PIN-koden" is also "pinkoden")."""
    pairs = (a + b for p in phrases for a, b in itertools.pairwise(p) if a not in words.stopwords)
    return token_set | {pair for pair in pairs if len(pair) >= 5}


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


def _clear_winner(scored: list[tuple[float, int]], buttons: Sequence[Button], how: str) -> Match | None:
    scored.sort(reverse=True)
    if len(scored) > 1 and scored[0][0] - scored[1][0] < MIN_LEAD - 1e-9:
        tied = [i for score, i in scored if scored[0][0] - score < MIN_LEAD - 1e-9]
        preferred = _prefer_options(tied, buttons)
        return Match(preferred[0], how) if len(preferred) == 1 else None
    return Match(scored[0][1], how)
