"""RPC to other services with a deadline.

nameko's ``RpcProxy`` waits for a reply forever; behind an HTTP request that
means a browser spinning until the proxy gives up. Here a call that gets no
reply within ``RPC_TIMEOUT_SECONDS`` raises ServiceUnavailable (503), and so
does a call to a service that is not running at all (nameko finds no queue
for it and raises UnknownService).
"""
import eventlet
from nameko.exceptions import UnknownService
from nameko.rpc import RpcProxy

from services.gateway.errors import ServiceUnavailable

DEFAULT_TIMEOUT_SECONDS = 10.0


class TimedRpcProxy(RpcProxy):
    def setup(self):
        self.timeout = float(self.container.config.get("RPC_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))

    def get_dependency(self, worker_ctx):
        return _TimedServiceProxy(super().get_dependency(worker_ctx), self.target_service, self.timeout)


class _TimedServiceProxy:
    def __init__(self, proxy, service_name, timeout):
        self._proxy = proxy
        self._service_name = service_name
        self._timeout = timeout

    def __getattr__(self, method_name):
        method = getattr(self._proxy, method_name)

        def call(*args, **kwargs):
            late = ServiceUnavailable(
                f"Dịch vụ «{self._service_name}» không phản hồi; vui lòng thử lại sau ít phút.",
                {"service": self._service_name},
            )
            with eventlet.Timeout(self._timeout, late):
                try:
                    return method(*args, **kwargs)
                except UnknownService as err:
                    raise late from err

        return call
