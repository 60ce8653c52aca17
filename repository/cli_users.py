"""`huiju user add NAME --role curator|admin [--review-level STAGE]`: accounts for the curator pages;
`huiju user token NAME`: a bearer token for the review API (repository/api_tokens.py).

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
    """Add curator and admin accounts; print review API tokens."""


@user.command()
@click.argument("name")
@click.option("--role", type=click.Choice(USER_ROLES), default="curator", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--review-level", default=None, metavar="STAGE",
              help="The review stage this reviewer signs at (one of REVIEW_STAGES); default: any stage.")
@click.option("--actor", default="cli", show_default=True, help="Who adds the account (kept in the audit log).")
@pass_context
def add(ctx: Context, name: str, role: str, password_stdin: bool, review_level: str | None, actor: str) -> None:
    """Add an account, or reset its password, role and review level when it exists."""
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
    if review_level is not None:
        from repository.review_levels import stages

        known = stages(ctx.settings)
        if review_level not in known:
            raise click.ClickException(f"--review-level must be one of REVIEW_STAGES: {', '.join(known)}")
    ctx.store.init()
    with ctx.store.session(write=True) as s:
        found = s.scalar(select(User).where(User.username == name))
        if found is None:
            s.add(User(username=name, password_hash=generate_password_hash(password), role=role, active=True,
                       review_level=review_level))
            action, before = "user.add", None
        else:
            before = {"role": found.role, "active": found.active, "review_level": found.review_level}
            found.password_hash, found.role, found.active = generate_password_hash(password), role, True
            found.review_level = review_level
            action = "user.reset"
    ctx.store.audit(actor, action, "user", name, before=before,
                    after={"role": role, "active": True, "review_level": review_level})
    level = f", review level {review_level}" if review_level else ""
    click.echo(f"{name}: {'added' if action == 'user.add' else 'password and role reset'} ({role}{level})")


@user.command()
@click.argument("name")
@click.option("--actor", default="cli", show_default=True, help="Who asks for the token (kept in the audit log).")
@pass_context
def token(ctx: Context, name: str, actor: str) -> None:
    """Print a bearer token for the review API (valid API_TOKEN_LIFETIME seconds)."""
    from repository.api_tokens import issue

    ctx.store.init()
    with ctx.store.session() as s:
        found = s.scalar(select(User).where(User.username == name))
    if found is None or not found.active:
        raise click.ClickException(f"no active account named {name!r}; add it with `huiju user add`")
    ctx.store.audit(actor, "user.token", "user", name, after={"lifetime": ctx.settings["API_TOKEN_LIFETIME"]})
    click.echo(issue(ctx.settings.secret_key(), found.username, found.password_hash))
