"""`huiju user add NAME --role curator|admin`: accounts for the curator pages.

The password is asked for twice at the terminal (hidden), or read from the first
line of standard input with --password-stdin (for scripts). It is stored only as
werkzeug's generate_password_hash; it is never echoed, logged nor audited.
"""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from repository.cli import Context, main, pass_context
from repository.models import USER_ROLES, User

MIN_PASSWORD = 8


@main.group()
def user() -> None:
    """Add curator and admin accounts for the review pages."""


@user.command()
@click.argument("name")
@click.option("--role", type=click.Choice(USER_ROLES), default="curator", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--actor", default="cli", show_default=True, help="Who adds the account (kept in the audit log).")
@pass_context
def add(ctx: Context, name: str, role: str, password_stdin: bool, actor: str) -> None:
    """Add an account, or reset its password and role when it exists."""
    from werkzeug.security import generate_password_hash

    name = name.strip()
    if not name or len(name) > 100:
        raise click.ClickException("the user name must have 1 to 100 characters")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        raise click.ClickException(f"the password must have at least {MIN_PASSWORD} characters")
    ctx.store.init()
    with ctx.store.session(write=True) as s:
        found = s.scalar(select(User).where(User.username == name))
        if found is None:
            s.add(User(username=name, password_hash=generate_password_hash(password), role=role, active=True))
            action, before = "user.add", None
        else:
            before = {"role": found.role, "active": found.active}
            found.password_hash, found.role, found.active = generate_password_hash(password), role, True
            action = "user.reset"
    ctx.store.audit(actor, action, "user", name, before=before, after={"role": role, "active": True})
    click.echo(f"{name}: {'added' if action == 'user.add' else 'password and role reset'} ({role})")
