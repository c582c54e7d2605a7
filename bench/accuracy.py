"""Accuracy benchmarks, measured exactly as a user would run them through the CLI.

    python -m bench.accuracy [clinc150 clinc150-small xsid-da dev]   (default: all)

CLINC150: `ementor nlu train --nlu train.yml --nlu train_oos.yml --out M`, then
`ementor nlu test --model M --nlu test.yml`, with the project's default settings.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench.common import ROOT, SHARED_BENCH, ementor, figure, require

SUITES = {
    "clinc150": (["clinc150/train.yml", "clinc150/train_oos.yml"], "clinc150/test.yml"),
    "clinc150-small": (["clinc150-small/train.yml", "clinc150-small/train_oos.yml"], "clinc150-small/test.yml"),
    "xsid-da": (["xsid-da/train.yml"], "xsid-da/test.yml"),
}


def measure(name: str, train: list[Path], test: Path) -> dict[str, float | str | None]:
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model.npz"
        args = [a for path in train for a in ("--nlu", str(path))]
        trained = ementor("nlu", "train", *args, "--out", str(model))
        tested = ementor("nlu", "test", "--model", str(model), "--nlu", str(test), "--out", str(Path(tmp) / "r"))
    return {
        "suite": name,
        "accuracy": figure(tested.output, "accuracy"),
        "in_scope": figure(tested.output, "in-scope accuracy"),
        "oos_recall": figure(tested.output, "out-of-scope recall"),
        "train_s": round(trained.seconds, 1),
        "train_peak_mb": round(trained.peak_mb),
    }


def suite(name: str) -> dict[str, float | str | None]:
    if name == "dev":
        return measure("dev (nlu_eval/dev.yml)", [ROOT / "nlu_data"], ROOT / "nlu_eval" / "dev.yml")
    train, test = SUITES[name]
    return measure(name, [require(SHARED_BENCH / p) for p in train], require(SHARED_BENCH / test))


def main(names: list[str]) -> None:
    print(f"{'suite':<24}{'accuracy':>10}{'in-scope':>10}{'oos rec.':>10}{'train s':>9}{'peak MB':>9}")
    for name in names or [*SUITES, "dev"]:
        r = suite(name)

        def pct(key: str, r: dict[str, float | str | None] = r) -> str:
            return "-" if r[key] is None else f"{r[key]:.2f}"

        print(
            f"{r['suite']!s:<24}{pct('accuracy'):>10}{pct('in_scope'):>10}{pct('oos_recall'):>10}"
            f"{r['train_s']:>9}{r['train_peak_mb']:>9}",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
