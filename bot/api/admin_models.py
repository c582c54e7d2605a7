"""The admin API for the intent model: retrain, follow a training, list versions, activate or roll back.

Admins only (a session with its CSRF token on changes, or an admin's bearer token); errors as the eMentor
API's. The console's pages (bot/consoles/admin_models.py) act through the same functions, so the audit log
reads the same whichever way an admin acted.

| call | what it does |
|---|---|
| POST /api/admin/train | queue a training → {"job": id} (the one already queued or running, if any) |
| GET  /api/admin/jobs/{id} | its status, progress, step; when done the gate's report and the version made |
| GET  /api/admin/models | the versions, newest first, with their figures; which is active |
| POST /api/admin/models/{id}/activate | use it; {"reason"} needed when the gate held it back (409 without) |
| POST /api/admin/models/rollback | use the version that answered before the active one (409 when there is none) |
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.api.common import ApiError, Call, answer, endpoint
from bot.consoles import admin_models
from bot.consoles.web import translate
from bot.nlu import jobs, registry

PREFIX = "/api/admin"


def version_json(row: registry.ModelRow) -> dict[str, Any]:
    metrics = row["metrics"]
    gate = metrics.get("gate") if isinstance(metrics.get("gate"), dict) else None
    return {
        "id": row["id"],
        "status": row["status"],
        "created_at": row["created_at"],
        "created_by": row["created_by"],
        "origin": metrics.get("origin"),
        "examples": metrics.get("examples"),
        "scores": metrics.get("scores", {}),
        "gate_passed": gate.get("passed") if gate is not None else None,
        "needs_reason": registry.needs_reason(row),
        "size": row["size"],
        "activated_at": row["activated_at"],
        "activated_by": row["activated_by"],
        "override_reason": row["override_reason"],
    }


async def train(call: Call) -> web.Response:
    job_id = await admin_models.start_training(call.tx, call.now, call.me["id"])
    return answer({"job": job_id}, status=202)


async def one_job(call: Call) -> web.Response:
    row = await jobs.job(call.tx, call.number("id"))
    if row is None:
        raise ApiError(404, "No such job.")
    model = await registry.version(call.tx, row["model_id"]) if row["model_id"] is not None else None
    report = None
    if model is not None:
        metrics = model["metrics"]
        report = {k: metrics[k] for k in ("sets", "cross_validation", "intents", "gate") if k in metrics}
    return answer(
        {
            "id": row["id"],
            "kind": row["kind"],
            "status": row["status"],
            "progress": row["progress"],
            "step": row["message"],
            "step_text": admin_models.step_text(row, translate(call.lang)),
            "error": row["detail"].get("error"),
            "created_at": row["created_at"],
            "started_at": row["started_at"],
            "finished_at": row["finished_at"],
            "model": version_json(model) if model is not None else None,
            "report": report,
        }
    )


async def models(call: Call) -> web.Response:
    rows = await registry.versions(call.tx)
    active = next((r["id"] for r in rows if r["status"] == "active"), None)
    return answer({"active": active, "models": [version_json(r) for r in rows]})


async def activate(call: Call) -> web.Response:
    model_id = call.number("id")
    reason = call.field("reason", str, required=False) if call.body is not None else None
    if reason is not None and len(reason) > admin_models.MAX_REASON:
        raise ApiError(400, f'"reason" is longer than {admin_models.MAX_REASON} characters.')
    row = await registry.version(call.tx, model_id)
    if row is None:
        raise ApiError(404, "No such model version.")
    if registry.needs_reason(row) and not (reason or "").strip():
        raise ApiError(
            409, 'This version did not pass the evaluation gate: send {"reason": "…"} to use it anyway.',
            {"needs_reason": True},
        )  # fmt: skip
    activated = await admin_models.activate_version(call.tx, model_id, call.now, call.me["id"], reason)
    return answer(version_json(activated))


async def rollback(call: Call) -> web.Response:
    try:
        activated = await admin_models.roll_back(call.tx, call.now, call.me["id"])
    except registry.RegistryError:
        raise ApiError(409, "There is no earlier version to roll back to.") from None
    return answer(version_json(activated))


def add_routes(app: web.Application) -> None:
    """The routes under /api/admin/ for the model (the store, settings and clock are the eMentor API's)."""
    routes = [
        ("POST", "/train", train),
        ("GET", r"/jobs/{id:\d+}", one_job),
        ("GET", "/models", models),
        ("POST", "/models/rollback", rollback),
        ("POST", r"/models/{id:\d+}/activate", activate),
    ]
    for method, path, fn in routes:
        app.router.add_route(method, PREFIX + path, endpoint(fn, role="admin"))
