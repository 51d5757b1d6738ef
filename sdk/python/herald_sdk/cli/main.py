"""`herald`: apps, engagements, metrics, explain, plan/apply of engagements as code, simulate,
keys, identity and test devices."""

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from herald_sdk import config, declarative
from herald_sdk.cli import simulate_command, trust_commands
from herald_sdk.cli.common import (
    FAILED,
    State,
    admin,
    complain,
    handled,
    out,
    print_json,
    root,
)
from herald_sdk.verdict import lift, p_text, percent, verdict

app = typer.Typer(
    help="Herald from the command line: apps, engagements as code, metrics, a device simulator.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
apps = typer.Typer(help="Apps (tenants) and their keys.", no_args_is_help=True)
engagements = typer.Typer(
    help="List, read, pause, resume and delete engagements.", no_args_is_help=True
)
app.add_typer(apps, name="apps")
app.add_typer(engagements, name="engagements")

Json = Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
EngagementArg = Annotated[str, typer.Argument(help="The engagement's name or id.")]


@app.callback()
@handled
def options(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option(help="Herald's URL.", envvar="HERALD_URL")] = None,
    admin_key: Annotated[
        str | None, typer.Option(help="The app's admin key.", envvar="HERALD_ADMIN_KEY")
    ] = None,
    root_key: Annotated[
        str | None, typer.Option(help="The root key, to create apps.", envvar="HERALD_ROOT_KEY")
    ] = None,
    client_key: Annotated[
        str | None,
        typer.Option(help="The client key (simulate).", envvar="HERALD_CLIENT_KEY"),
    ] = None,
    app_id: Annotated[
        str | None,
        typer.Option(
            "--app", help="The app id (an admin key names its own).", envvar="HERALD_APP_ID"
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            help="A profile of the config file (default: default).", envvar="HERALD_PROFILE"
        ),
    ] = None,
):
    """Settings come from these flags, else the environment, else the profile file
    ($HERALD_CONFIG, else ~/.config/herald/config.toml)."""
    flags = {
        "url": url,
        "admin_key": admin_key,
        "root_key": root_key,
        "client_key": client_key,
        "app_id": app_id,
    }
    ctx.obj = State(config.resolve(flags, profile))


# --- apps -------------------------------------------------------------------------------------


@apps.command("create")
@handled
def apps_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The app's name.")],
    save_profile: Annotated[
        str | None,
        typer.Option(help="Save the URL and the new keys as this profile of the config file."),
    ] = None,
    as_json: Json = False,
):
    """Create an app (root key); its keys are shown once."""
    with root(ctx) as client:
        made = client.create_app(name)
    if save_profile:
        saved = config.save_profile(
            save_profile,
            {"url": client.url, "admin_key": made.admin_key, "client_key": made.client_key},
        )
    if as_json:
        print_json(made.model_dump())
        return
    console = out()
    console.print(f"Created app [bold]{made.name}[/bold] ({made.app_id})")
    console.print(f"  admin key:  {made.admin_key}", markup=False)
    console.print(f"  client key: {made.client_key}", markup=False)
    if save_profile:
        console.print(f"Saved as profile [{save_profile}] in {saved}", markup=False)
    else:
        console.print(
            "Keep the keys now: Herald stores only their hashes and cannot show them again."
        )


@apps.command("get")
@handled
def apps_get(ctx: typer.Context, as_json: Json = False):
    """The app the admin key belongs to."""
    with admin(ctx) as client:
        found = client.get_app()
    if as_json:
        print_json(found.model_dump())
    else:
        out().print(f"{found.name} ({found.app_id}), created {found.created_at}", markup=False)


@apps.command("update")
@handled
def apps_update(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    web_origin: Annotated[
        list[str] | None,
        typer.Option(
            help="A web origin allowed to call the device routes (repeat for more; "
            "replaces the list)."
        ),
    ] = None,
    no_web_origins: Annotated[bool, typer.Option(help="Allow no web origin.")] = False,
    as_json: Json = False,
):
    """Change the app's name or its web origins."""
    origins = [] if no_web_origins else web_origin
    with admin(ctx) as client:
        changed = client.update_app(name, origins)
    if as_json:
        print_json(changed.model_dump())
        return
    shown = ", ".join(changed.web_origins) or "none"
    out().print(f"{changed.name} ({changed.app_id}); web origins: {shown}", markup=False)


# --- engagements ------------------------------------------------------------------------------


@engagements.command("list")
@handled
def engagements_list(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option(help="Only this status: draft, scheduled, active, paused, ended.")
    ] = None,
    as_json: Json = False,
):
    """Every engagement of the app, oldest first."""
    with admin(ctx) as client:
        found = list(client.iter_engagements(status))
    if as_json:
        print_json([e.model_dump() for e in found])
        return
    table = Table("name", "id", "status", "variants", "control", "from", "until", "version")
    table.columns[1].no_wrap = True
    for e in found:
        variants = ", ".join(f"{v['key']} {v.get('weight', 100)}%" for v in e.variants)
        table.add_row(
            e.name,
            e.engagement_id,
            e.status,
            variants,
            f"{e.control_percent}%" if e.control_percent else "-",
            _day(e.schedule.get("start_at")),
            _day(e.schedule.get("end_at")),
            str(e.version),
        )
    console = out()
    console.print(table)
    console.print(f"{len(found)} engagement(s)")


def _day(moment: str | None) -> str:
    """The UTC day of an ISO date-time, as the list shows it."""
    if not moment:
        return ""
    try:
        return datetime.fromisoformat(moment).astimezone(UTC).date().isoformat()
    except ValueError:
        return moment


@engagements.command("get")
@handled
def engagements_get(ctx: typer.Context, engagement: EngagementArg):
    """One engagement, as JSON."""
    with admin(ctx) as client:
        print_json(client.find_engagement(engagement).model_dump())


def _status_change(ctx: typer.Context, engagement: str, change: str) -> None:
    with admin(ctx) as client:
        found = client.find_engagement(engagement)
        changed = getattr(client, change)(found.engagement_id)
    out().print(
        f"{changed.name}: {found.status} -> {changed.status} (version {changed.version})",
        markup=False,
    )


@engagements.command("pause")
@handled
def engagements_pause(ctx: typer.Context, engagement: EngagementArg):
    """Pause: the very next fetch no longer shows it."""
    _status_change(ctx, engagement, "pause")


@engagements.command("resume")
@handled
def engagements_resume(ctx: typer.Context, engagement: EngagementArg):
    """Resume a paused engagement."""
    _status_change(ctx, engagement, "resume")


@engagements.command("delete")
@handled
def engagements_delete(ctx: typer.Context, engagement: EngagementArg, yes: Yes = False):
    """Delete an engagement (its counters stay)."""
    with admin(ctx) as client:
        found = client.find_engagement(engagement)
        if not yes and not typer.confirm(f"Delete {found.name} ({found.engagement_id})?"):
            complain("not deleted")
            raise typer.Exit(FAILED)
        client.delete_engagement(found.engagement_id, found.version)
    out().print(f"Deleted {found.name} ({found.engagement_id})", markup=False)


# --- results ----------------------------------------------------------------------------------


@app.command()
@handled
def metrics(
    ctx: typer.Context,
    engagement: EngagementArg,
    from_day: Annotated[
        str | None, typer.Option("--from", help="First UTC day, YYYY-MM-DD.")
    ] = None,
    to_day: Annotated[str | None, typer.Option("--to", help="Last UTC day, YYYY-MM-DD.")] = None,
    as_json: Json = False,
):
    """The performance of an engagement: a row per variant, lift, p-value and the verdict."""
    with admin(ctx) as client:
        found = client.find_engagement(engagement)
        report = client.metrics(found.engagement_id, from_day, to_day)
    if as_json:
        print_json({**report.model_dump(), "verdict": verdict(report)})
        return
    console = out()
    goal = "conversion rate" if report.goal == "conversion_rate" else "CTR"
    console.print(
        f"[bold]{found.name}[/bold] ({found.engagement_id}), {found.status}; goal: {goal}"
    )
    table = Table(
        "variant",
        "impressions",
        "devices",
        "clicks",
        "CTR",
        "conversions",
        "conv. rate",
        "lift",
        "p-value",
        "significant",
    )
    for column in table.columns[1:]:
        column.justify = "right"
    for v in report.variants:
        table.add_row(
            v.key,
            f"{v.impressions:,}",
            f"{v.unique_devices:,}",
            f"{v.clicks:,}",
            percent(v.ctr),
            f"{v.conversions:,}",
            percent(v.conversion_rate),
            percent(lift(report, v), signed=True),
            p_text(v.p_value),
            "yes" if v.significant else "no",
        )
    if report.control is not None:
        c = report.control
        table.add_row(
            "control",
            "-",
            f"{c.assigned:,} assigned",
            "-",
            "-",
            f"{c.conversions:,}",
            percent(c.conversion_rate),
            "",
            "",
            "",
        )
    console.print(table)
    asked = [v for v in report.variants if v.question]
    if asked:
        answers = Table("variant", "question", "answers", "rate", "mean", "NPS", "distribution")
        for column in answers.columns[2:6]:
            column.justify = "right"
        for v in asked:
            answers.add_row(
                v.key, v.question, f"{v.responses:,}", percent(v.response_rate),
                "-" if v.mean is None else f"{v.mean:.2f}",
                "-" if v.nps is None else f"{v.nps:+.0f}",
                " ".join(f"{k}:{n}" for k, n in v.distribution.items()),
            )  # fmt: skip
        console.print(answers)
    refused = {reason: n for reason, n in report.rejected.items() if n}
    if refused:
        shown = ", ".join(f"{reason} {n:,}" for reason, n in sorted(refused.items()))
        console.print(f"Events refused (not counted above): {shown}", markup=False)
    console.print(verdict(report), markup=False)


@app.command()
@handled
def responses(
    ctx: typer.Context,
    engagement: EngagementArg,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    as_json: Json = False,
):
    """The text answers to an engagement's question, newest first."""
    with admin(ctx) as client:
        found = client.find_engagement(engagement)
        answers = list(itertools.islice(client.iter_responses(found.engagement_id), limit))
    if as_json:
        print_json([a.model_dump() for a in answers])
        return
    table = Table("at", "variant", "subject", "answer")
    for answer in answers:
        table.add_row(answer.at or "", answer.variant, answer.subject or "", answer.value)
    console = out()
    console.print(table)
    console.print(f"{len(answers)} answer(s)")


@app.command()
@handled
def explain(
    ctx: typer.Context,
    device: Annotated[str, typer.Argument(help="The device id.")],
    event: Annotated[str | None, typer.Option(help="The app event (default app_launch).")] = None,
    as_json: Json = False,
):
    """Why this device does, or does not, get each engagement for this event."""
    with admin(ctx) as client:
        found = client.explain(device, event)
    if as_json:
        print_json(found.model_dump())
        return
    table = Table("engagement", "eligible", "reason", "detail")
    for item in found.engagements:
        table.add_row(
            item.name, "yes" if item.eligible else "no", item.reason or "", _detail(item.detail)
        )
    console = out()
    console.print(f"Device {found.device_id}, event {found.event}", markup=False)
    console.print(table)


def _detail(detail: dict | None) -> str:
    """Herald's own sentence when it gives one, else the plain values."""
    if not detail:
        return ""
    if isinstance(detail.get("message"), str):
        return detail["message"]
    return ", ".join(
        f"{k}={v}" for k, v in detail.items() if isinstance(v, (str, int, float, bool))
    )


# --- engagements as code ----------------------------------------------------------------------

FileOption = Annotated[
    Path,
    typer.Option(
        "--file", "-f", help="The YAML file of audiences and engagements.", dir_okay=False
    ),
]


@app.command()
@handled
def plan(ctx: typer.Context, file: FileOption):
    """What `apply` would create, change (field by field) or leave alone; writes nothing."""
    with admin(ctx) as client:
        made = declarative.make_plan(client, file)
    show_plan(made)
    if made.refused:
        raise typer.Exit(FAILED)


@app.command()
@handled
def apply(ctx: typer.Context, file: FileOption, yes: Yes = False):
    """Make Herald match the file: the plan first, then (once confirmed) the writes."""
    with admin(ctx) as client:
        made = declarative.make_plan(client, file)
        show_plan(made)
        if made.refused:
            complain("nothing applied: the plan has refused changes")
            raise typer.Exit(FAILED)
        if not made.writes:
            return
        if not yes and not typer.confirm("Apply these changes?"):
            complain("nothing applied")
            raise typer.Exit(FAILED)
        outcomes = declarative.apply_plan(client, made)
    console = out()
    for outcome in outcomes:
        mark = "[green]done[/green]" if outcome.ok else "[red]FAILED[/red]"
        console.print(
            f"{mark} {outcome.action.verb} {outcome.action.kind} {outcome.action.name!r}: ", end=""
        )
        console.print(outcome.message, markup=False)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        complain(f"{len(failed)} of {len(outcomes)} change(s) failed")
        raise typer.Exit(FAILED)
    console.print(f"Applied {len(outcomes)} change(s).")


def show_plan(made: declarative.Plan) -> None:
    console = out()
    marks = {
        declarative.CREATE: "[green]+ create[/green]",
        declarative.UPDATE: "[yellow]~ update[/yellow]",
        declarative.UNCHANGED: "[dim]= no change[/dim]",
        declarative.REFUSED: "[red]! refused[/red]",
    }
    for action in made.actions:
        console.print(f"{marks[action.verb]} {action.kind} ", end="")
        console.print(repr(action.name), markup=False)
        if action.summary:
            console.print(f"    {action.summary}", markup=False)
        for change in action.changes:
            console.print(
                f"    {change.path}: {_short(change.before)} -> {_short(change.after)}",
                markup=False,
            )
        if action.reason:
            console.print(f"    {action.reason}", markup=False)
    counts = {verb: sum(a.verb == verb for a in made.actions) for verb in marks}
    console.print(
        f"Plan: {counts[declarative.CREATE]} to create, {counts[declarative.UPDATE]} to update, "
        f"{counts[declarative.UNCHANGED]} unchanged, {counts[declarative.REFUSED]} refused."
    )
    if made.unmanaged:
        console.print(
            f"Left alone (in Herald, not in the file): {', '.join(made.unmanaged)}", markup=False
        )


def _short(value) -> str:
    text = "(none)" if value is None else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


simulate_command.register(app)
trust_commands.register(app)


def main() -> None:
    app()
