"""OPC UA: one asyncua client (session) per connection, shared by the devices behind it.

Node ids are string identifiers in the map's namespace (resolved by URI on each new session)
with "{device}" replaced by the binding's prefix. Two ways to read: `poll()` is one batched
Read of all the device's nodes (lockstep simulation, fallback); `start_subscription()` asks the
server for data-change notifications (live operation). A subscription reports changes only, so
while it is alive `refresh()` vouches that unchanged values are current. Reconnects are ours,
backed off on the Clock; asyncua's own reconnect timer (wall clock) is left off.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from asyncua.client.client import Client
from asyncua.client.ua_client import UaClientState
from asyncua.common.node import Node
from asyncua.crypto import uacrypto
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.status_codes import StatusCodes
from asyncua.ua.uaerrors import UaError, UaStatusCodeError
from asyncua.ua.uaprotocol_auto import CreateSubscriptionParameters, MessageSecurityMode
from asyncua.ua.uatypes import (
    Byte,
    DataValue,
    Int16,
    NodeId,
    String,
    UInt32,
    Variant,
    VariantType,
)

from drivers.cache import PointCache
from drivers.clock import Clock
from drivers.codec import check_write, to_engineering, to_raw
from drivers.errors import BackedOff, DriverError, PermanentError, RetryableIOError
from drivers.health import Backoff, DeviceHealth, DeviceStatus
from drivers.opcua_trust import (
    CertificateRefused,
    explain_secured_failure,
    offered_certificate,
    pinned_certificate,
)
from drivers.pointmap import DataType, Point, PointMap
from drivers.site import Connection, DeviceBinding

logger = logging.getLogger(__name__)
T = TypeVar("T")
KEEPALIVE_S = 10.0

VARIANT_TYPES = {
    DataType.BOOL: VariantType.Boolean,
    DataType.INT16: VariantType.Int16,
    DataType.UINT16: VariantType.UInt16,
    DataType.INT32: VariantType.Int32,
    DataType.UINT32: VariantType.UInt32,
    DataType.FLOAT32: VariantType.Float,
    DataType.FLOAT64: VariantType.Double,
}

# Status codes that mean the session or channel is gone, not that the request was wrong.
_SESSION_LOST = {
    StatusCodes.BadTimeout,
    StatusCodes.BadSessionIdInvalid,
    StatusCodes.BadSessionClosed,
    StatusCodes.BadSessionNotActivated,
    StatusCodes.BadSecureChannelClosed,
    StatusCodes.BadSecureChannelIdInvalid,
    StatusCodes.BadConnectionClosed,
    StatusCodes.BadServerNotConnected,
    StatusCodes.BadServerHalted,
    StatusCodes.BadShutdown,
    StatusCodes.BadCommunicationError,
    StatusCodes.BadTooManySessions,
}


class OpcUaConnection:
    """One session to one server endpoint, reopened with back-off after a failure."""

    def __init__(
        self, name: str, connection: Connection, clock: Clock, base_dir: Path | None = None
    ) -> None:
        self.name = name
        self.config = connection
        self._base_dir = base_dir or Path(".")
        self._clock = clock
        self._client: Client | None = None
        self._namespaces: dict[str, int] = {}
        self._backoff = Backoff(clock)
        self._was_connected = False
        self.generation = 0  # bumped per new session: devices re-resolve nodes and re-subscribe
        self.requests_total = 0
        self.devices: list[OpcUaDevice] = []
        if connection.security is None:
            logger.warning(
                "connection '%s' (%s) is unsecured: no [security] table, so the server is not "
                "authenticated and nothing is encrypted; anyone on that network can read and "
                "write these points",
                name,
                connection.endpoint,
            )

    @property
    def connected(self) -> bool:
        client = self._client
        return client is not None and client.uaclient.state is UaClientState.CONNECTED

    async def open(self) -> bool:
        """Try to connect; failing is not fatal (devices go BAD and retry with back-off)."""
        try:
            await self.session()
        except RetryableIOError:
            return False
        return True

    async def close(self) -> None:
        await self._drop()

    def attach(self, binding: DeviceBinding, point_map: PointMap, cache: PointCache) -> OpcUaDevice:
        """A device whose nodes live on this server."""
        return OpcUaDevice(binding, point_map, self, cache, self._clock)

    async def poll_devices(self) -> dict[str, bool]:
        """One batched Read for all the attached devices: one round trip instead of one per
        device (the lockstep harness polls everything every tick). Each device keeps its own
        health; a point with a bad status is BAD on its own, as in `OpcUaDevice.poll`."""
        out = {device.name: False for device in self.devices}
        ready = [device for device in self.devices if device.status.ready()]
        if not ready:
            return out
        try:
            node_lists = [list((await device.nodes()).values()) for device in ready]
            nodes = [node for device_nodes in node_lists for node in device_nodes]
            for device in ready:
                device.status.reads_total += 1
            results = await self.call(
                lambda client: client.read_attributes(nodes, AttributeIds.Value),
                f"{len(ready)} devices read {len(nodes)} nodes",
            )
        except DriverError as exc:
            for device in ready:
                device.status.lost(exc)
            return out
        read_at_s = self._clock.monotonic_s()
        offset = 0
        for device, device_nodes in zip(ready, node_lists, strict=True):
            device.store_read(results[offset : offset + len(device_nodes)], read_at_s)
            offset += len(device_nodes)
            out[device.name] = True
        return out

    async def session(self) -> Client:
        """The connected client, connecting first if needed (unless backed off)."""
        if self._client is not None and not self.connected:
            await self._drop()
        if self._client is not None:
            return self._client
        where = f"connection '{self.name}' ({self.config.endpoint})"
        if not self._backoff.ready():
            raise BackedOff(f"{where} is down; next connect attempt is backed off")
        client = Client(self.config.endpoint, timeout=self.config.timeout_s)
        pinned_der: bytes | None = None
        try:
            pinned_der = await self._secure(client)
            await client.connect()
        except (CertificateRefused, OSError, TimeoutError, UaError, ValueError) as exc:
            self._backoff.failed()
            problem = self._explain(exc, pinned_der)
            if self._was_connected or self._backoff.failures == 1:
                logger.warning("%s: cannot connect: %s; retrying with back-off", where, problem)
            self._was_connected = False
            error = CertificateRefused if isinstance(exc, CertificateRefused) else RetryableIOError
            raise error(f"{where}: cannot connect: {problem}") from exc
        self._client = client
        self._namespaces = {}
        self.generation += 1
        self._backoff.succeeded()
        if not self._was_connected:
            logger.info("%s connected", where)
        self._was_connected = True
        return client

    async def _secure(self, client: Client) -> bytes | None:
        """Apply the connection's security (certificates, user) before connecting; the pinned
        server certificate (DER), checked against the one the server offers, or None if
        unsecured. Nothing secured, least of all the password, goes to an unpinned server."""
        security = self.config.security
        if security is None:
            return None
        if security.server_certificate_file is None:  # the plant file refuses this; so do we
            raise CertificateRefused(
                "no 'server_certificate_file' to pin the server's certificate: refusing to "
                "send the session and the password to whatever server answers"
            )
        if security.application_uri is not None:
            client.application_uri = security.application_uri
        mode = getattr(MessageSecurityMode, security.mode)
        offered_der = await offered_certificate(client, mode, SecurityPolicyBasic256Sha256.URI)
        pinned_der = pinned_certificate(
            self._path(security.server_certificate_file),
            offered_der,
            security.trust_first_server_certificate,
            f"connection '{self.name}' ({self.config.endpoint})",
        )
        await client.set_security(
            SecurityPolicyBasic256Sha256,
            certificate=str(self._path(security.certificate_file)),
            private_key=str(self._path(security.private_key_file)),
            server_certificate=uacrypto.CertProperties(pinned_der, extension="der"),
            mode=mode,
        )
        if security.username is not None and security.password_file is not None:
            client.set_user(security.username)
            client.set_password(self._path(security.password_file).read_text().strip())
        return pinned_der

    def _explain(
        self,
        exc: CertificateRefused | OSError | TimeoutError | UaError | ValueError,
        pinned_der: bytes | None,
    ) -> str:
        """The failure in words: a certificate problem names the certificate, not a timeout."""
        if isinstance(exc, CertificateRefused):
            return str(exc)
        security = self.config.security
        if pinned_der is not None and security is not None:  # failed in the secured handshake
            return explain_secured_failure(
                exc,
                self.config.timeout_s,
                pinned_der,
                self._path(security.certificate_file),
                security.username,
            )
        if isinstance(exc, TimeoutError):
            return f"no answer within {self.config.timeout_s:g} s"
        return repr(exc)

    def _path(self, name: str) -> Path:
        path = Path(name)
        return path if path.is_absolute() else self._base_dir / path

    async def namespace_index(self, uri: str) -> int:
        if uri not in self._namespaces:
            self._namespaces[uri] = await self.call(
                lambda client: client.get_namespace_index(uri), f"namespace '{uri}'"
            )
        return self._namespaces[uri]

    async def call(self, request: Callable[[Client], Awaitable[T]], what: str) -> T:
        """Run one service call; errors come back classified, a lost session is dropped."""
        client = await self.session()
        self.requests_total += 1
        try:
            return await request(client)
        except UaStatusCodeError as exc:
            if exc.code in _SESSION_LOST:
                await self._drop()
                raise RetryableIOError(f"{what}: {exc}") from exc
            raise PermanentError(f"{what}: {exc}") from exc
        except (OSError, TimeoutError, UaError) as exc:
            await self._drop()
            raise RetryableIOError(f"{what}: {exc!r}") from exc
        except ValueError as exc:  # e.g. a namespace URI the server does not have
            raise PermanentError(f"{what}: {exc}") from exc

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            await client.disconnect()
        except Exception as exc:  # the session is gone either way; nothing to recover here
            logger.debug("connection '%s': disconnect after failure raised %r", self.name, exc)


class OpcUaDevice:
    """One device's nodes on an OPC UA server: batched reads, subscription, validated writes."""

    protocol = "opcua"

    def __init__(
        self,
        binding: DeviceBinding,
        point_map: PointMap,
        connection: OpcUaConnection,
        cache: PointCache,
        clock: Clock,
    ) -> None:
        self.name = binding.name
        self.binding = binding
        self.point_map = point_map
        self.connection = connection
        self._cache = cache
        self._clock = clock
        self.status = DeviceStatus(self.name, self.protocol, clock, logger, cache)
        self._nodes: dict[str, Node] = {}
        self._nodes_generation = -1
        self._by_node_id: dict[str, Point] = {}
        self._subscription: Any = None
        self._subscription_generation = -1
        self._subscription_lost = False
        self.publishing_interval_s: float | None = None
        connection.devices.append(self)

    @property
    def poll_interval_s(self) -> float:
        return self.binding.poll_interval_s

    def health(self) -> DeviceHealth:
        return self.status.health(self.connection.connected)

    def node_id_of(self, point: Point) -> str:
        """The point's string identifier with "{device}" replaced by the binding's prefix."""
        return (point.node_id or "").replace("{device}", self.binding.prefix)

    async def poll(self) -> bool:
        """One batched Read of every node into the cache. False if backed off or failed."""
        if not self.status.ready():
            return False
        try:
            nodes = await self.nodes()
            self.status.reads_total += 1
            results = await self.connection.call(
                lambda client: client.read_attributes(list(nodes.values()), AttributeIds.Value),
                f"device '{self.name}' read {len(nodes)} nodes",
            )
        except DriverError as exc:
            self.status.lost(exc)
            return False
        self.store_read(results, self._clock.monotonic_s())
        return True

    def store_read(self, data_values: list[DataValue], read_at_s: float) -> None:
        """A successful Read of `nodes()` (same order): every point into the cache."""
        for point, data_value in zip(self.point_map.points, data_values, strict=True):
            self._store(point, data_value, read_at_s)
        self.status.success()

    async def start_live(self, publishing_interval_s: float) -> None:
        await self.start_subscription(publishing_interval_s)

    async def poll_live(self) -> bool:
        return await self.refresh()

    async def stop_live(self) -> None:
        await self.stop_subscription()

    async def start_subscription(self, publishing_interval_s: float) -> bool:
        """Switch to data-change notifications; False (points BAD) if it cannot be set up yet.

        Call `refresh()` periodically: it re-creates a lost subscription after back-off.
        """
        self.publishing_interval_s = publishing_interval_s
        return await self.refresh()

    async def refresh(self) -> bool:
        """In subscription mode: keep the subscription alive and vouch for unchanged values."""
        if self.publishing_interval_s is None:
            raise PermanentError(f"device '{self.name}': refresh() needs start_subscription()")
        if self._subscription_alive():
            self._cache.confirm(self.name, self._clock.monotonic_s())
            return True
        if not self.status.ready():
            return False
        try:
            await self._subscribe(self.publishing_interval_s)
        except DriverError as exc:
            self.status.lost(exc)
            return False
        self.status.success()
        return True

    async def stop_subscription(self) -> None:
        subscription, self._subscription = self._subscription, None
        self.publishing_interval_s = None
        if subscription is not None and self.connection.connected:
            try:
                await subscription.delete()
            except Exception as exc:  # best effort: the session may already be gone
                logger.debug("device %s: deleting subscription raised %r", self.name, exc)

    async def write(self, values: Mapping[str, float]) -> None:
        """Write engineering values after validating all of them (WriteRefused otherwise)."""
        points = check_write(self.name, self.point_map, values)
        if not self.status.ready():
            raise RetryableIOError(f"device '{self.name}' is backed off after failures")
        try:
            nodes = await self.nodes()
            data_values = [
                DataValue(Variant(_variant_value(p, values[p.name]), VARIANT_TYPES[p.data_type]))
                for p in points
            ]
            self.status.writes_total += 1
            results = await self.connection.call(
                lambda client: client.write_values(
                    [nodes[p.name] for p in points], data_values, raise_on_partial_error=False
                ),
                f"device '{self.name}' write {', '.join(p.name for p in points)}",
            )
        except BackedOff:
            raise
        except RetryableIOError as exc:
            self.status.lost(exc)
            raise
        refused = [
            f"{p.name}: {s.name}" for p, s in zip(points, results, strict=True) if not s.is_good()
        ]
        if refused:
            raise PermanentError(
                f"device '{self.name}': server refused write ({'; '.join(refused)})"
            )

    # --- subscription handler (asyncua calls these) -------------------------------------------
    def datachange_notification(self, node: Node, val: Any, data: Any) -> None:
        point = self._by_node_id.get(node.nodeid.to_string())
        if point is not None:
            self._store(point, data.monitored_item.Value, self._clock.monotonic_s())

    def status_change_notification(self, status: Any) -> None:
        self._subscription_lost = True
        self.status.lost(RetryableIOError(f"subscription status {status}"))

    # --- internals ---------------------------------------------------------------------------
    def _subscription_alive(self) -> bool:
        return (
            self._subscription is not None
            and not self._subscription_lost
            and self._subscription_generation == self.connection.generation
            and self.connection.connected
        )

    async def _subscribe(self, publishing_interval_s: float) -> None:
        nodes = await self.nodes()
        self._subscription = None
        self._subscription_lost = False
        parameters = subscription_parameters(publishing_interval_s)
        subscription = await self.connection.call(
            lambda client: client.create_subscription(parameters, self),
            f"device '{self.name}' create subscription",
        )
        await self.connection.call(
            lambda _client: subscription.subscribe_data_change(list(nodes.values())),
            f"device '{self.name}' monitor {len(nodes)} nodes",
        )
        self._subscription = subscription
        self._subscription_generation = self.connection.generation

    async def nodes(self) -> dict[str, Node]:
        """Point name -> Node in map order, rebuilt per session (the namespace index may change
        on a server restart)."""
        client = await self.connection.session()
        if self._nodes_generation == self.connection.generation:
            return self._nodes
        uri = self.point_map.opcua.namespace_uri if self.point_map.opcua else "urn:hpctl:plant"
        namespace = await self.connection.namespace_index(uri)
        self._nodes = {
            p.name: client.get_node(NodeId(String(self.node_id_of(p)), Int16(namespace)))
            for p in self.point_map.points
        }
        self._by_node_id = {
            node.nodeid.to_string(): self.point_map.point(name)
            for name, node in self._nodes.items()
        }
        self._nodes_generation = self.connection.generation
        return self._nodes

    def _store(self, point: Point, data_value: DataValue, read_at_s: float) -> None:
        raw = _numeric(data_value)
        status = data_value.StatusCode
        if status is not None and not status.is_good():
            self.status.store(point.name, None, read_at_s, status.name)
        elif raw is None:
            problem = f"non-numeric value {data_value.Value!r}"
            self.status.store(point.name, None, read_at_s, problem)
        else:
            value = to_engineering(point, raw)
            self.status.store(point.name, value, read_at_s, f"code {raw:g} not in its value_map")


def subscription_parameters(publishing_interval_s: float) -> CreateSubscriptionParameters:
    """Publishing at the interval, a keep-alive at least every 10 s so a silent server shows."""
    keepalive_count = max(1, math.ceil(KEEPALIVE_S / publishing_interval_s))
    return CreateSubscriptionParameters(
        RequestedPublishingInterval=publishing_interval_s * 1000.0,
        RequestedLifetimeCount=UInt32(keepalive_count * 10),
        RequestedMaxKeepAliveCount=UInt32(keepalive_count),
        MaxNotificationsPerPublish=UInt32(10000),
        PublishingEnabled=True,
        Priority=Byte(0),
    )


def _numeric(data_value: DataValue) -> float | None:
    variant = data_value.Value
    raw = variant.Value if variant is not None else None
    if isinstance(raw, bool | int | float):
        return float(raw)
    return None


def _variant_value(point: Point, value: float) -> bool | int | float:
    raw = to_raw(point, value)
    if point.data_type is DataType.BOOL:
        return bool(raw)
    if point.data_type in (DataType.FLOAT32, DataType.FLOAT64):
        return float(raw)
    return int(raw)
