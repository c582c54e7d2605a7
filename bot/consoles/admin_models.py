"""The admin console's model pages: versions (activate, roll back), training with visible progress, and the
evaluation gate's report with an override that needs a written reason.

- GET  /admin/models                      versions with their figures, the active one marked; recent trainings
- POST /admin/models/train                queue a training (any bot process's worker runs it) → its page
- POST /admin/models/{id}/activate        use this version (a `reason` when the gate held it back)
- POST /admin/models/rollback             use the version that answered before the active one
- GET  /admin/jobs/{id}                   a training: progress (updated by admin_models.js), then the report

The JSON API (bot/api/admin_models.py) does the same through `start_training` and `activate_version`, so
the audit log reads the same whichever way an admin acted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.booking import audit
from bot.consoles.web import Page, console, error_page, redirect
from bot.core.ports import Tx
from bot.core.statuses import JobStatus, ModelStatus
from bot.escalation import accounts
from bot.nlu import jobs, registry
from bot.nlu.training_data import FALLBACK_INTENT

MAX_REASON = 1000


# ---- what the page and the API share ----------------------------------------------------------------------


async def start_training(tx: Tx, now: datetime, admin_id: int) -> int:
    """Queue a training (or find the one already queued or running); the job's id. Recorded when new."""
    job_id, new = await jobs.queue_training(tx, now, admin_id)
    if new:
        await audit.record(tx, now, admin_id, "model_training", f"job:{job_id}", {"job": job_id})
    return job_id


async def activate_version(
    tx: Tx, model_id: int, now: datetime, admin_id: int, reason: str | None
) -> registry.ModelRow:
    """Use `model_id` in every bot process, recorded in the audit log (with the reason when the gate held
    it back). RegistryError: no such version, or a reason is needed and missing."""
    before = await registry.active(tx)
    row = await registry.version(tx, model_id)
    overriding = row is not None and registry.needs_reason(row)
    activated = await registry.activate(tx, model_id, now, admin_id, reason)
    detail: dict[str, Any] = {"previous": before["id"] if before else None}
    if overriding:
        detail["override_reason"] = activated["override_reason"]
    await audit.record(tx, now, admin_id, "model_activated", f"model:{model_id}", detail)
    return activated


async def roll_back(tx: Tx, now: datetime, admin_id: int) -> registry.ModelRow:
    """Use the version that answered before the active one (RegistryError: there is none)."""
    before = await registry.previous(tx)
    if before is None:
        raise registry.RegistryError("there is no earlier version to roll back to")
    return await activate_version(tx, before["id"], now, admin_id, None)


# ---- figures as an admin reads them ----------------------------------------------------------------------------


def percent(value: Any, lang: str) -> str:
    """0.9573 → "95,7 %" (Danish) / "95.7 %"; nothing known → "–"."""
    if not isinstance(value, int | float):
        return "–"
    text = f"{100 * value:.1f}"
    return (text.replace(".", ",") if lang == "da" else text) + " %"


def points(value: Any, lang: str) -> str:
    """A change of a share in percentage points, signed: +1,2 / −0,4."""
    if not isinstance(value, int | float):
        return "–"
    text = f"{100 * abs(value):.1f}"
    text = text.replace(".", ",") if lang == "da" else text
    return ("−" if value < 0 else "+") + text


def score(row: registry.ModelRow, name: str, metric: str) -> Any:
    scores = row["metrics"].get("scores") or {}
    figures = scores.get(name) if isinstance(scores, dict) else None
    return figures.get(metric) if isinstance(figures, dict) else None


def version_view(row: registry.ModelRow, page: Page, names: Mapping[int, str]) -> dict[str, Any]:
    metrics = row["metrics"]
    gate_report = metrics.get("gate")
    return {
        "id": row["id"],
        "created_at": row["created_at"],
        "status": row["status"],
        "by": names.get(row["created_by"] or 0, page.t("models_from_file") if metrics.get("origin") == "file" else ""),
        "dev": percent(score(row, "dev", "accuracy"), page.lang),
        "oos": percent(score(row, "dev", "oos_recall"), page.lang),
        "inbox": percent(score(row, "inbox", "accuracy"), page.lang),
        "cv": percent(score(row, "cross_validation", "accuracy"), page.lang),
        "gate": None if not isinstance(gate_report, dict) else bool(gate_report.get("passed")),
        "examples": metrics.get("examples"),
        "job": metrics.get("job"),
        "needs_reason": registry.needs_reason(row),
        "override_reason": row["override_reason"],
    }


def intent_name(name: str, page: Page) -> str:
    return page.t("models_out_of_scope") if name == FALLBACK_INTENT else name


def report_view(metrics: Mapping[str, Any], page: Page) -> dict[str, Any]:
    """The gate's report as rows: per set and measure the active and the new model, the change, the margin."""
    lang = page.lang
    rows = []
    for check in metrics.get("gate", {}).get("checks", []):
        examples = metrics["sets"][check["set"]]["new"]["examples"]
        rows.append(
            {
                "set": page.t(f"models_set_{check['set']}", n=examples),
                "metric": page.t(f"models_metric_{check['metric']}"),
                "active": percent(check["active"], lang),
                "new": percent(check["new"], lang),
                "change": points(check["new"] - check["active"], lang),
                "limit": points(-check["limit"], lang),
                "ok": check["ok"],
            }
        )
    cv = metrics.get("cross_validation") or {}
    intents = [
        {
            **row,
            "name": intent_name(row["intent"], page),
            "confused_with": intent_name(row["confused_with"], page) if row["confused_with"] else "",
            "change_text": f"{row['change']:+d}" if row["active"] is not None else "",
        }
        for row in metrics.get("intents", [])
    ]
    return {
        "checks": rows,
        "passed": bool(metrics.get("gate", {}).get("passed")),
        "cv": page.t(
            "models_cv_line",
            n=cv.get("folds", 0),
            accuracy=percent(cv.get("accuracy"), lang),
            oos=percent(cv.get("oos_recall"), lang),
        )
        if cv
        else "",
        "intents": intents,
        "compared_with": metrics.get("compared_with"),
    }


def step_text(row: jobs.JobRow, t: Callable[..., str]) -> str:
    """What the job is doing, in the admin's language."""
    if row["status"] == JobStatus.FAILED:
        error = str(row["detail"].get("error", ""))
        return t("models_error_lost") if error == "lost" else t("models_step_failed")
    return t(f"models_step_{row['message']}") if row["message"] in jobs.STEPS else ""


async def _names(tx: Tx) -> dict[int, str]:
    return {a["id"]: a["name"] for a in await accounts.list_ementors(tx)}


# ---- pages -------------------------------------------------------------------------------------------------


async def models_page(page: Page, problem: str = "", status: int = 200) -> web.Response:
    names = await _names(page.tx)
    versions = [version_view(r, page, names) for r in await registry.versions(page.tx)]
    recent = await jobs.recent(page.tx)
    running = next((j for j in recent if j["status"] in (JobStatus.QUEUED, JobStatus.RUNNING)), None)
    before = await registry.previous(page.tx)
    active = await registry.active(page.tx)
    activated = page.request.query.get("activated", "")
    done = (
        page.t("models_activated_line", id=activated) if active is not None and activated == str(active["id"]) else ""
    )
    return page.render(
        "admin_models.html",
        status=status,
        admin_part="models",
        versions=versions,
        jobs=[{**j, "by": names.get(j["created_by"] or 0, ""), "step": step_text(j, page.t)} for j in recent],
        running=running,
        previous=before,
        done=done,
        problem=problem,
    )


async def train(page: Page) -> web.Response:
    job_id = await start_training(page.tx, page.now, page.me["id"])
    return redirect(f"/admin/jobs/{job_id}")


def _number(page: Page) -> int | None:
    raw = page.request.match_info["id"]
    return int(raw) if raw.isdigit() and len(raw) < 18 else None


async def activate(page: Page) -> web.Response:
    model_id = _number(page)
    row = await registry.version(page.tx, model_id) if model_id is not None else None
    if row is None or model_id is None:
        return error_page(page.request, 404, "not_found_title", "not_found")
    reason = page.field("reason", MAX_REASON)
    if registry.needs_reason(row) and not reason:
        job_id = row["metrics"].get("job")
        if isinstance(job_id, int):
            return await job_page(page, job_id, page.t("models_reason_needed"), 400)
        return await models_page(page, page.t("models_reason_needed"), 400)
    await activate_version(page.tx, model_id, page.now, page.me["id"], reason or None)
    return redirect(f"/admin/models?activated={model_id}")


async def rollback(page: Page) -> web.Response:
    try:
        row = await roll_back(page.tx, page.now, page.me["id"])
    except registry.RegistryError:
        return await models_page(page, page.t("models_no_previous"), 409)
    return redirect(f"/admin/models?activated={row['id']}")


async def job_page(page: Page, job_id: int | None = None, problem: str = "", status: int = 200) -> web.Response:
    job_id = job_id if job_id is not None else _number(page)
    row = await jobs.job(page.tx, job_id) if job_id is not None else None
    if row is None:
        return error_page(page.request, 404, "not_found_title", "not_found")
    model = await registry.version(page.tx, row["model_id"]) if row["model_id"] is not None else None
    report = report_view(model["metrics"], page) if model is not None and "gate" in model["metrics"] else None
    error = str(row["detail"].get("error", "")) if row["status"] == JobStatus.FAILED else ""
    return page.render(
        "admin_models_job.html",
        status=status,
        admin_part="models",
        job=row,
        step=step_text(row, page.t),
        error=error if error and error != "lost" else "",
        model=model,
        report=report,
        live=row["status"] in (JobStatus.QUEUED, JobStatus.RUNNING),
        is_active=model is not None and model["status"] == ModelStatus.ACTIVE,
        may_override=model is not None and registry.needs_reason(model),
        problem=problem,
        reason=page.field("reason", MAX_REASON) if problem else "",
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/models", console(models_page, role="admin"))
    app.router.add_post("/admin/models/train", console(train, role="admin"))
    app.router.add_post("/admin/models/rollback", console(rollback, role="admin"))
    app.router.add_post("/admin/models/{id}/activate", console(activate, role="admin"))
    app.router.add_get("/admin/jobs/{id}", console(job_page, role="admin"))
