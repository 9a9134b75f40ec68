"""The device registry (danh sách thiết bị) and device credentials: the rules,
with no I/O.

A device is known by ``<commune_id>/<device_id>``: device ids are unique
within a commune only. Operations take the time as an aware ``datetime``
(``now``) and return the documents to store or a ``Change`` (fields to set
where the document still is as read, and the events the change causes), so
the repository writes a change and its events as one document update.
"""
from dataclasses import dataclass, field
from datetime import timedelta

from services.telemetry import credentials
from shared.errors import Conflict
from shared.events import outgoing
from shared.text import fold
from shared.timeutil import iso

SOURCE = "telemetry"

OPERATE_ROLES = ("commune_admin", "operator")

DEVICE_FIELDS = ("name", "kind", "village", "model", "firmware", "installed_on", "transport", "presence_timeout_s")

# what an operator sees of the edge's latest state of a device
STATE_FIELDS = ("last_seen", "offline_after", "sample", "sample_at", "firmware", "capabilities", "schedule_version",
                "connected_at", "stored_through_seq")


@dataclass
class Change:
    """One document update: ``set`` applied where the document still matches
    ``expect``, with the events it causes."""

    set: dict
    expect: dict = field(default_factory=dict)
    events: list = field(default_factory=list)


def key(commune_id, device_id):
    return f"{commune_id}/{device_id}"


def label(device):
    """How messages name a device: its name, else its id."""
    return device.get("name") or device["device_id"]


def _location(data):
    return {"lat": data["lat"], "lon": data["lon"]} if data.get("lat") is not None else None


def new_device(commune_id, data, actor, now):
    """A registered device and its ``device_registered`` event; ``data`` is a
    loaded ``schemas.NewDevice``."""
    device = {
        "_id": key(commune_id, data["device_id"]),
        "commune_id": commune_id,
        "device_id": data["device_id"],
        **{name: data[name] for name in DEVICE_FIELDS},
        "location": _location(data),
        "credential": {"status": "none", "credential_id": None, "at": None},
        "created_at": iso(now),
        "updated_at": iso(now),
        "created_by": actor,
    }
    event = outgoing(SOURCE, "device_registered", commune_id, actor=actor, device_id=device["device_id"],
                     kind=device["kind"], village=device["village"], transport=device["transport"])
    return device, event


def device_update(device, changes, now):
    """The update of a device's registry fields; None when nothing changes.

    The transport is how the device's credential works (a gRPC credential or
    a broker user), so it changes only while the device holds none.
    """
    fields = {name: changes[name] for name in DEVICE_FIELDS if name in changes}
    if "lat" in changes:
        fields["location"] = _location(changes)
    fields = {name: value for name, value in fields.items() if device.get(name) != value}
    if not fields:
        return None
    if "transport" in fields and device["credential"]["status"] in ("active", "code_issued"):
        raise Conflict("Thiết bị đang có khóa truy cập hoặc mã kích hoạt; hãy thu hồi trước khi đổi phương thức "
                       "kết nối.", {"device_id": device["device_id"]})
    return Change(set={**fields, "updated_at": iso(now)})


def device_view(device):
    """A device as callers see it (no storage key)."""
    return {k: v for k, v in device.items() if k != "_id"}


def presence_of(state):
    """``online``, ``offline`` or ``unknown`` (never heard from)."""
    return (state or {}).get("presence") or "unknown"


def state_view(state):
    state = state or {}
    return {"presence": presence_of(state), "presence_since": state.get("presence_since"),
            **{name: state.get(name) for name in STATE_FIELDS}}


def listed(device, state):
    """One line of ``list_devices``: the device with its presence and latest sample."""
    state = state or {}
    return dict(device_view(device), presence=presence_of(state), last_seen=state.get("last_seen"),
                sample=state.get("sample"))


def listing_order(device):
    """Devices by village as a Vietnamese reader orders them ("Đông" with
    the D's, not after "Z"; those without a village last), then id."""
    village = device.get("village")
    return (village is None, fold(village or ""), village or "", device["device_id"])


# ---------------------------------------------------------------- credentials


def credential_status(status, credential_id, now):
    return {"status": status, "credential_id": credential_id, "at": iso(now)}


def provisioning_code(device, actor, now, valid_hours):
    """A fresh code for a gRPC device: ``(code, stored document)``. Only the
    code's digest is stored; the code is shown once."""
    if device["transport"] != "grpc":
        raise Conflict("Thiết bị kết nối qua MQTT: hãy cấp tài khoản MQTT thay cho mã kích hoạt.",
                       {"device_id": device["device_id"]})
    code = credentials.new_provisioning_code()
    doc = {
        "_id": credentials.code_digest(code),
        "commune_id": device["commune_id"],
        "device_id": device["device_id"],
        "status": "pending",
        "issued_at": iso(now),
        "expires_at": iso(now + timedelta(hours=valid_hours)),
        "issued_by": actor,
        "used_at": None,
    }
    return code, doc


def mqtt_credential(device, actor, now):
    """A broker password for an MQTT device: ``(password, credential document,
    device_provisioned event)``. The broker checks the password; only its
    digest is kept here, for the record."""
    if device["transport"] != "mqtt":
        raise Conflict("Thiết bị kết nối qua gRPC: hãy cấp mã kích hoạt thay cho tài khoản MQTT.",
                       {"device_id": device["device_id"]})
    credential_id, credential, digest = credentials.new_credential()
    _, password = credentials.split_credential(credential)
    doc = {
        "_id": credential_id,
        "commune_id": device["commune_id"],
        "device_id": device["device_id"],
        "transport": "mqtt",
        "secret_sha256": digest,
        "status": "active",
        "created_at": iso(now),
        "created_by": actor,
        "revoked_at": None,
        "reason": "",
    }
    event = outgoing(SOURCE, "device_provisioned", device["commune_id"], actor=actor, device_id=device["device_id"],
                     credential_id=credential_id, transport="mqtt", how="operator")
    return password, doc, event


def revocation(credential, reason, actor, now):
    """An active credential revoked, with the ``credential_revoked`` event
    that makes every edge end the streams using it."""
    event = outgoing(SOURCE, "credential_revoked", credential["commune_id"], actor=actor,
                     device_id=credential["device_id"], credential_id=credential["_id"], reason=reason or "")
    return Change(set={"status": "revoked", "revoked_at": iso(now), "reason": reason or ""},
                  expect={"status": "active"}, events=[event])


def mqtt_topic(device):
    """The MQTT topic the device publishes its samples on."""
    return f"tinxa/{device['commune_id']}/{device['device_id']}/telemetry"
