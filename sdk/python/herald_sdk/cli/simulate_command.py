"""`herald simulate`: a bounded fleet of simulated devices against a Herald you run locally."""

import time
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from herald_sdk.cli.common import admin, handled, out, print_json, settings
from herald_sdk.config import ConfigError
from herald_sdk.models import Metrics
from herald_sdk.simulate import Fleet, Options, SimulationRefused, is_loopback, parse_rates
from herald_sdk.verdict import lift, p_text, percent, verdict

REPORT_WAIT_SECONDS = 30.0


def register(app: typer.Typer) -> None:
    app.command()(handled(simulate))


def simulate(
    ctx: typer.Context,
    engagement: Annotated[
        str | None, typer.Option(help="The engagement to act on (name or id); else any shown.")
    ] = None,
    devices: Annotated[int, typer.Option(help="How many devices.")] = 100,
    events_per_device: Annotated[
        int, typer.Option(help="App events (each a fetch) per device.")
    ] = 1,
    ctr: Annotated[
        str | None, typer.Option(help="True click-through rate per variant: A=0.05,B=0.08.")
    ] = None,
    conversion: Annotated[
        str | None,
        typer.Option(
            help="True conversion rate per variant and for devices shown nothing: "
            "A=0.03,B=0.05,control=0.02."
        ),
    ] = None,
    conversion_event: Annotated[
        str | None,
        typer.Option(
            help="The custom event a conversion sends (default: the engagement's conversion event)."
        ),
    ] = None,
    answer_rate: Annotated[
        float, typer.Option(help="How often a question shown is answered (0 to 1).")
    ] = 0.0,
    event: Annotated[
        str, typer.Option(help="The app event that triggers the fetch.")
    ] = "app_launch",
    seed: Annotated[int | None, typer.Option(help="Seed: the same fleet and choices.")] = None,
    concurrency: Annotated[int, typer.Option(help="Devices at once (threads).")] = 8,
    max_requests: Annotated[int | None, typer.Option(help="Stop after this many requests.")] = None,
    max_seconds: Annotated[float, typer.Option(help="Stop after this long.")] = 300.0,
    device_prefix: Annotated[str | None, typer.Option(help="Device ids start with this.")] = None,
    allow_remote: Annotated[
        bool, typer.Option(help="Allow a server that is not on this machine (pollutes its data).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
):
    """Simulated devices register (realistic platform, locale, time zone, attributes), fetch,
    show, click and convert at the given true rates, and report their events in batches."""
    found = settings(ctx)
    if not found.client_key:
        raise ConfigError(
            "no client key: pass --client-key, set HERALD_CLIENT_KEY or add client_key to the "
            f"profile [{found.profile}] (`herald apps create NAME --save-profile P` saves it)"
        )
    if not is_loopback(found.url) and not allow_remote:
        raise SimulationRefused(
            f"{found.url} is not this machine: simulated traffic would mix with real data "
            "(pass --allow-remote if that is what you want)"
        )
    options = Options(
        devices=devices,
        events_per_device=events_per_device,
        ctr=parse_rates(ctr, "--ctr"),
        answer_rate=answer_rate,
        conversion=parse_rates(conversion, "--conversion"),
        conversion_event=conversion_event,
        event=event,
        seed=seed,
        concurrency=concurrency,
        max_requests=max_requests,
        max_seconds=max_seconds,
        device_prefix=device_prefix,
    )
    with admin(ctx) as client:
        target = client.find_engagement(engagement) if engagement else None
        if target is not None:
            options.engagement_id = target.engagement_id
            if options.conversion and not options.conversion_event and target.conversion:
                options.conversion_event = target.conversion.get("event")
            if event == "app_launch":
                options.event = (target.trigger or {}).get("event", "app_launch")
        options.check()
        summary = _run(found, options, quiet=as_json)
        report = _settled_report(client, target, summary) if target else None
    if as_json:
        print_json(_summary_json(summary, report))
        return
    _print(summary, report, target.name if target else None)


def _run(found, options: Options, quiet: bool):
    with Progress(
        TextColumn("[bold]simulating[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("devices · {task.fields[requests]} requests · {task.fields[errors]} errors"),
        TimeElapsedColumn(),
        console=out(),
        disable=quiet,
        transient=False,
    ) as progress:
        task = progress.add_task("devices", total=options.devices, requests=0, errors=0)

        def advanced(summary):
            progress.update(
                task,
                completed=summary.devices_done,
                requests=summary.requests,
                errors=sum(summary.errors.values()),
            )

        fleet = Fleet(found.url, found.client_key, options, found.app_id, on_device_done=advanced)
        return fleet.run()


def _settled_report(client, target, summary) -> Metrics:
    """The report once Herald has counted every impression the fleet sent (the queue's
    consumer works asynchronously), or as it stands after REPORT_WAIT_SECONDS."""
    deadline = time.monotonic() + REPORT_WAIT_SECONDS
    while True:
        report = client.metrics(target.engagement_id)
        counted = {v.key: v for v in report.variants}
        if all(
            k in counted
            and counted[k].impressions >= summary.impressions[k]
            and counted[k].conversions >= summary.conversions.get(k, 0)
            for k in summary.impressions
        ):
            return report
        if time.monotonic() > deadline:
            return report
        time.sleep(0.5)


def _summary_json(summary, report: Metrics | None) -> dict:
    return {
        "devices": summary.devices_done,
        "requests": summary.requests,
        "retries": summary.retries,
        "errors": dict(summary.errors),
        "events_sent": dict(summary.events_sent),
        "impressions_sent": dict(summary.impressions),
        "clicks_sent": dict(summary.clicks),
        "conversions_sent": dict(summary.conversions),
        "answers_sent": dict(summary.answers),
        "exposed_devices": dict(summary.exposed),
        "unexposed_devices": summary.unexposed,
        "stopped_by": summary.stopped_by,
        "seconds": round(summary.seconds, 2),
        "report": report.model_dump() if report else None,
        "verdict": verdict(report) if report else None,
    }


def _print(summary, report: Metrics | None, name: str | None) -> None:
    console = out()
    rate = summary.requests / summary.seconds if summary.seconds else 0
    console.print(
        f"{summary.devices_done:,} devices, {summary.requests:,} requests in "
        f"{summary.seconds:.1f} s ({rate:,.0f}/s), {summary.retries} retried, errors: "
        + (", ".join(f"{k}: {v}" for k, v in sorted(summary.errors.items())) or "none"),
        markup=False,
    )
    if summary.stopped_by:
        console.print(f"Stopped early: {summary.stopped_by} reached.", markup=False)
    sent = ", ".join(f"{k} {v:,}" for k, v in sorted(summary.events_sent.items()))
    console.print(f"Events sent: {sent or 'none'}", markup=False)
    if report is None:
        return
    table = Table(
        "variant", "devices", "impr. sent", "counted", "clicks sent", "counted", "CTR",
        "conv. sent", "counted", "conv. rate", "lift", "p-value", title=name,
    )  # fmt: skip
    for column in table.columns[1:]:
        column.justify = "right"
    for v in report.variants:
        table.add_row(
            v.key,
            f"{summary.exposed.get(v.key, 0):,}",
            f"{summary.impressions.get(v.key, 0):,}",
            f"{v.impressions:,}",
            f"{summary.clicks.get(v.key, 0):,}",
            f"{v.clicks:,}",
            percent(v.ctr),
            f"{summary.conversions.get(v.key, 0):,}",
            f"{v.conversions:,}",
            percent(v.conversion_rate),
            percent(lift(report, v), signed=True),
            p_text(v.p_value),
        )
    if report.control is not None:
        c = report.control
        assigned = f"{c.assigned:,}"
        dashes = ["-"] * 6
        table.add_row("control", assigned, *dashes, f"{c.conversions:,}",
                      percent(c.conversion_rate), "", "")  # fmt: skip
    console.print(table)
    console.print(verdict(report), markup=False)
