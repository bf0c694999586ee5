"""Departments come from plugins and live in the database, where administrators edit them."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from models import db
from models.support import Department


def sync_plugin_departments(app=None) -> int:
    """Create the departments plugins register whose slug is not in the database yet.

    Existing rows are left alone: once created, a department belongs to the administrators.
    Returns how many were created.
    """
    app = app or current_app
    existing = set(db.session.scalars(select(Department.slug)))
    created = 0
    for specs in app.extensions["portal"].plugins.hook.portal_register_departments():
        for spec in specs:
            if spec.slug in existing:
                continue
            db.session.add(Department(slug=spec.slug, name_es=spec.name_es, name_en=spec.name_en,
                                      description_es=spec.description_es, description_en=spec.description_en,
                                      sort_order=spec.sort_order))
            existing.add(spec.slug)
            created += 1
    db.session.commit()
    return created
