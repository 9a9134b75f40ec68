"""The caller of a command: who, in which commune, with which roles.

The gateway authenticates people and plug-ins and puts the caller into the
nameko context data (header ``nameko.tinxa_caller``); nameko carries context
data along every RPC call and event it causes, so each service can authorise on
it with the ``CallerContext`` dependency.
"""
import json
from dataclasses import dataclass, field

from nameko.extensions import DependencyProvider

from shared.errors import Forbidden, Unauthenticated

CONTEXT_KEY = "tinxa_caller"

ROLES = (
    "district_admin",
    "commune_admin",
    "editor",
    "approver",
    "operator",
    "trainer",
    "viewer",
)

# every commune role may read a commune's data; writes name their roles
READ_ROLES = ROLES[1:]


@dataclass(frozen=True)
class Caller:
    """An authenticated user, API key or internal system actor.

    ``commune_id`` is None only for district administrators, who act across
    the communes of their district.
    """

    subject: str
    commune_id: str | None
    roles: frozenset = field(default_factory=frozenset)
    kind: str = "user"
    name: str = ""

    def to_json(self):
        return json.dumps(
            {
                "subject": self.subject,
                "commune_id": self.commune_id,
                "roles": sorted(self.roles),
                "kind": self.kind,
                "name": self.name,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text):
        data = json.loads(text)
        return cls(
            subject=data["subject"],
            commune_id=data.get("commune_id"),
            roles=frozenset(data.get("roles", ())),
            kind=data.get("kind", "user"),
            name=data.get("name", ""),
        )

    @property
    def is_district(self):
        return "district_admin" in self.roles

    def has_any(self, *roles):
        return self.is_district or bool(self.roles.intersection(roles))

    def require(self, *roles):
        """Refuse unless the caller holds one of ``roles`` (district admins pass)."""
        if not self.has_any(*roles):
            raise Forbidden(
                "Bạn không có quyền thực hiện thao tác này.",
                {"required_roles": list(roles)},
            )
        return self

    def commune_for(self, commune_id=None):
        """The commune this call acts on: the caller's own, never another's.

        District admins must name the commune; anyone else naming a commune
        other than their own is refused.
        """
        if self.is_district:
            if not commune_id:
                raise Forbidden("Cần chọn xã để thực hiện thao tác này.")
            return commune_id
        if commune_id and commune_id != self.commune_id:
            raise Forbidden("Bạn không có quyền truy cập dữ liệu của xã khác.")
        if not self.commune_id:
            raise Forbidden("Tài khoản chưa được gắn với xã nào.")
        return self.commune_id


SYSTEM = Caller(subject="system", commune_id=None, roles=frozenset({"district_admin"}), kind="system")


class CallerContext(DependencyProvider):
    """Gives a worker ``.current()`` (the caller, or Unauthenticated) and
    ``.act_as(caller)`` (for the gateway, before it calls other services)."""

    class Accessor:
        def __init__(self, worker_ctx):
            self._worker_ctx = worker_ctx

        def current(self):
            raw = self._worker_ctx.data.get(CONTEXT_KEY)
            if not raw:
                raise Unauthenticated("Chưa đăng nhập hoặc thiếu thông tin người gọi.")
            return Caller.from_json(raw)

        def act_as(self, caller):
            self._worker_ctx.data[CONTEXT_KEY] = caller.to_json()

    def get_dependency(self, worker_ctx):
        return self.Accessor(worker_ctx)
