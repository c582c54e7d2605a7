"""How long the one redaction step takes per message (it runs on every turn, reply, log line and outbox row).

    python -m bench.privacy

Every text of the privacy corpus (tests/core/privacy_corpus.yml: secrets and must-survive texts) redacted
many times; prints microseconds per message (median of 5 rounds) and the corpus sizes.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import yaml

from bot.core.privacy import redact

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "core" / "privacy_corpus.yml"
ROUNDS = 5
CRAFTED = {
    "digit run": "0" * 5000,
    "dashed pairs": "12-" * 2000,
    "word then @": "a" * 10000 + "@b",
    "dots then @": "a." * 3000 + "@",
    "spaced pairs": "01 " * 2000,
    "code words": "kode til x til y " * 300,
}
REPEAT = 50


def main() -> None:
    data = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    texts = [str(t) for t, _ in data["positives"]] + [str(t) for t in data["survive"]]
    long = " ".join(texts)[:2000]  # a message at the turn log's limit
    for name, batch in (("corpus messages", texts), ("2000-character message", [long])):
        per: list[float] = []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            for _ in range(REPEAT):
                for text in batch:
                    redact(text)
            per.append((time.perf_counter() - start) / (REPEAT * len(batch)) * 1e6)
        print(f"redact, {name}: {statistics.median(per):.1f} µs per message (n={len(batch)})")
    for name, crafted in CRAFTED.items():  # no pattern may scan these quadratically
        start = time.perf_counter()
        redact(crafted)
        print(f"redact, crafted {name} ({len(crafted)} characters): {(time.perf_counter() - start) * 1e3:.1f} ms")
    print(f"corpus: {len(data['positives'])} positives, {len(data['survive'])} must-survive")


if __name__ == "__main__":
    main()
