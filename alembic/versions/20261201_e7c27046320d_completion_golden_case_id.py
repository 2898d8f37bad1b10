"""completion.case_id is named golden_case_id

The column is an integer foreign key to golden_case.id, while `Completion.case_id` is the case's
own string id; the new name says which one it is. The column (and its foreign key, unique
constraint and index) is renamed, so stored completions keep their cases.

Revision ID: e7c27046320d
Revises: 79f9ccd91704
Create Date: 2026-12-01 20:25:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e7c27046320d'
down_revision: str | None = '79f9ccd91704'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _rename_case_column(old="case_id", new="golden_case_id")


def downgrade() -> None:
    _rename_case_column(old="golden_case_id", new="case_id")


def _rename_case_column(*, old: str, new: str) -> None:
    names = {
        "fk": (f"fk_completion_{old}_golden_case", f"fk_completion_{new}_golden_case"),
        "uq": (f"uq_completion_run_id_{old}_repetition", f"uq_completion_run_id_{new}_repetition"),
        "ix": (f"ix_completion_{old}", f"ix_completion_{new}"),
    }
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot rename constraints: batch mode copies the table into one with the new names
        # (twice, as a batch resolves the columns of new constraints before it renames any).
        with op.batch_alter_table("completion", recreate="always") as batch_op:
            batch_op.drop_index(names["ix"][0])
            batch_op.drop_constraint(names["uq"][0], type_="unique")
            batch_op.drop_constraint(names["fk"][0], type_="foreignkey")
            batch_op.alter_column(old, new_column_name=new, existing_type=sa.Integer(), existing_nullable=False)
        with op.batch_alter_table("completion", recreate="always") as batch_op:
            batch_op.create_foreign_key(names["fk"][1], "golden_case", [new], ["id"])
            batch_op.create_unique_constraint(names["uq"][1], ["run_id", new, "repetition"])
            batch_op.create_index(names["ix"][1], [new], unique=False)
        return
    # Elsewhere (PostgreSQL) everything is renamed in place: no table rewrite, no index rebuilt.
    op.alter_column("completion", old, new_column_name=new, existing_type=sa.Integer(), existing_nullable=False)
    for kind in ("fk", "uq"):
        before, after = names[kind]
        op.execute(f'ALTER TABLE completion RENAME CONSTRAINT "{before}" TO "{after}"')
    op.execute(f'ALTER INDEX "{names["ix"][0]}" RENAME TO "{names["ix"][1]}"')
