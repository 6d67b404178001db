"""Rendering tags, documents and ticket associations as the API's JSON.

Like :mod:`.render`: each object's bytes are cached on it under the time-zone
label they were rendered for, and a test's ``patch`` applies.
"""

from __future__ import annotations

from assembla_mirror.simulator.entities_archive import Association, Document, Tag
from assembla_mirror.simulator.render import cached
from assembla_mirror.simulator.zones import Zone, stamp


def tag(obj: Tag, where: Zone) -> bytes:
    """A tag (with the 2017+ ``color``)."""
    return cached(
        obj,
        where.label,
        lambda: {
            "id": obj.id,
            "name": obj.name,
            "space_id": obj.space_id,
            "state": obj.state,
            "color": obj.color,
            "created_at": stamp(obj.created_at, where),
            "updated_at": stamp(obj.updated_at, where),
        },
    )


def document(obj: Document, where: Zone) -> bytes:
    """A document, its fields in the order of the recorded attachment."""
    return cached(
        obj,
        where.label,
        lambda: {
            "name": obj.name,
            "content_type": obj.content_type,
            "created_by": obj.created_by,
            "id": obj.id,
            "version": obj.version,
            "filename": obj.filename,
            "filesize": obj.filesize,
            "updated_by": obj.updated_by,
            "description": obj.description,
            "cached_tag_list": obj.cached_tag_list,
            "position": obj.position,
            "url": obj.url,
            "created_at": stamp(obj.created_at, where),
            "updated_at": stamp(obj.updated_at, where),
            "ticket_id": obj.ticket_id,
            "attachable_type": obj.attachable_type,
            "has_thumbnail": obj.has_thumbnail,
            "space_id": obj.space_id,
            "attachable_id": obj.attachable_id,
            "attachable_guid": obj.attachable_guid,
        },
    )


def association(obj: Association, where: Zone) -> bytes:
    """A ticket association."""
    return cached(
        obj,
        where.label,
        lambda: {
            "id": obj.id,
            "ticket1_id": obj.ticket1_id,
            "ticket2_id": obj.ticket2_id,
            "relationship": obj.relationship,
            "created_at": stamp(obj.created_at, where),
        },
    )
