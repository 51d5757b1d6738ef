"""`herald keys rotate`, `herald identity` and `herald test-devices`: the trust routes (README
"Security model"). Keys, secrets and test tokens are printed once, as Herald shows them once."""

from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from herald_sdk.cli.common import admin, handled, out, print_json
from herald_sdk.trust import Enrolment

Json = Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")]
OverlapHours = Annotated[
    int | None,
    typer.Option(
        help="Hours the replaced key or secret keeps working (Herald's default if not given)."
    ),
]


class KeyKind(StrEnum):
    admin = "admin"
    client = "client"


keys = typer.Typer(help="Rotate the app's admin or client key.", no_args_is_help=True)
identity = typer.Typer(help="Identity verification: proven user ids.", no_args_is_help=True)
test_devices = typer.Typer(help="Enrolled test devices and their tokens.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(keys, name="keys")
    app.add_typer(identity, name="identity")
    app.add_typer(test_devices, name="test-devices")


@keys.command("rotate")
@handled
def keys_rotate(
    ctx: typer.Context,
    kind: Annotated[KeyKind | None, typer.Option(help="Which key (both if not given).")] = None,
    overlap_hours: OverlapHours = None,
    as_json: Json = False,
):
    """A new key; the one it replaces works for the overlap (7 days for a client key, which
    shipped builds carry; none for an admin key, unless given)."""
    with admin(ctx) as client:
        rotated = client.rotate_keys(kind.value if kind else None, overlap_hours)
    if as_json:
        print_json(rotated.model_dump(exclude_none=True))
        return
    console = out()
    for name in ("admin", "client"):
        key = getattr(rotated, f"{name}_key")
        if key:
            until = getattr(rotated, f"previous_{name}_key_expires_at")
            console.print(f"new {name} key: {key}", markup=False)
            console.print(f"  the previous one works until {until}", markup=False)
    console.print("Keep the keys now: Herald stores only their hashes.")


@identity.command("require")
@handled
def identity_require(ctx: typer.Context, overlap_hours: OverlapHours = None, as_json: Json = False):
    """Require proven user ids, with a new secret (shown once) for your back end."""
    with admin(ctx) as client:
        made = client.require_identity(overlap_hours)
    if as_json:
        print_json(made.model_dump(exclude_none=True))
        return
    console = out()
    console.print(
        f"identity required; secret {made.secret_id}: {made.identity_secret}", markup=False
    )
    console.print("Keep it on your back end only: it signs user ids (herald_sdk.user_token).")


@identity.command("off")
@handled
def identity_off(ctx: typer.Context):
    """Stop requiring proven user ids (every secret is forgotten)."""
    with admin(ctx) as client:
        client.disable_identity()
    out().print("identity verification is off")


@test_devices.command("enrol")
@handled
def test_devices_enrol(
    ctx: typer.Context,
    device_id: Annotated[str, typer.Argument(help="The device's id, as the app registers it.")],
    label: Annotated[str, typer.Option(help="Whose device it is.")],
    as_json: Json = False,
):
    """Enrol a test device: its test token and enrolment link, shown once."""
    with admin(ctx) as client:
        enrolled = client.enrol_test_device(device_id, label)
    link = Enrolment(client.app_id, enrolled.device_id, enrolled.test_token).link
    if as_json:
        print_json({**enrolled.model_dump(), "enrolment_link": link})
        return
    console = out()
    console.print(f"enrolled {enrolled.device_id} ({enrolled.label})", markup=False)
    console.print(f"  test token: {enrolled.test_token}", markup=False)
    console.print(f"  open on the device: {link}", markup=False)


@test_devices.command("list")
@handled
def test_devices_list(ctx: typer.Context, as_json: Json = False):
    """The enrolled test devices (never their tokens)."""
    with admin(ctx) as client:
        found = client.list_test_devices()
    if as_json:
        print_json([device.model_dump(exclude_none=True) for device in found])
        return
    table = Table("device", "label", "enrolled")
    for device in found:
        table.add_row(device.device_id, device.label, device.enrolled_at)
    out().print(table)


@test_devices.command("withdraw")
@handled
def test_devices_withdraw(
    ctx: typer.Context, device_id: Annotated[str, typer.Argument(help="The device's id.")]
):
    """Withdraw a test device: its token stops working at once."""
    with admin(ctx) as client:
        client.withdraw_test_device(device_id)
    out().print(f"withdrew {device_id}", markup=False)
