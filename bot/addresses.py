"""Which addresses postbot may connect to: the parsed FEED_ALLOW_PRIVATE_HOSTS setting.

Server admins hand the bot URLs (`/feed add`), so every request could be an attempt to make the
bot probe its own network (SSRF): localhost, 10.x, the cloud metadata service at
169.254.169.254. An `AddressPolicy` decides, address by address, what may be reached;
`bot.net` enforces it wherever an address becomes known (resolver, connector, every redirect).

Standard library only: `bot.settings` parses the policy without importing any HTTP client.
"""

from __future__ import annotations

import errno
import ipaddress
from dataclasses import dataclass
from urllib.parse import unquote

__all__ = ["PUBLIC_ONLY", "AddressPolicy", "AddressRefused", "PolicyError", "literal_address"]

SETTING = "FEED_ALLOW_PRIVATE_HOSTS"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_LIST_EXAMPLE = "127.0.0.1,10.0.0.0/8,feeds.internal"

# Address blocks the standard library's flags miss or that deserve a name in the message.
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
_METADATA = ipaddress.ip_address("169.254.169.254")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix: the low 32 bits are IPv4
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215 local-use NAT64
_ULA = ipaddress.ip_network("fc00::/7")


class PolicyError(ValueError):
    """A FEED_ALLOW_PRIVATE_HOSTS value that cannot be parsed; the message says what to write."""


class AddressRefused(OSError):
    """An address the policy does not allow. An OSError so aiohttp's resolver path carries it.

    `reason` is the one line an admin reads, e.g. "10.1.2.3 is a private network address; ...".
    """

    def __init__(self, reason: str) -> None:
        super().__init__(errno.EACCES, reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def _parse_address(text: str) -> IPAddress:
    """An IP address from a resolver or URL: brackets and a %zone allowed."""
    return ipaddress.ip_address(unquote(text).strip("[]"))


def _normal_host(host: str) -> str:
    host = host.strip().rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return host


def literal_address(host: str) -> IPAddress | None:
    """The address of an IP-literal URL host, None for a name; refuses odd numeric forms.

    aiohttp sends anything that looks numeric straight to the socket (its own test for "an IP
    literal, skip the resolver"), and the socket accepts legacy forms like 2130706433 or 127.1
    for 127.0.0.1, so those must never pass as names.
    """
    try:
        return _parse_address(host)
    except ValueError:
        bare = unquote(host).strip("[]")
        if ":" in bare or bare.replace(".", "").isdigit():
            raise AddressRefused(f"{host} is not a valid IP address") from None
        return None


def _why_not_public(ip: IPAddress) -> str | None:
    """None for a globally routable address, else what it is ("" for plain private).

    `ipaddress.is_global` alone is not enough: on the supported Pythons it calls multicast,
    site-local, NAT64 and IPv4-compatible addresses global, and it judges IPv4-mapped IPv6 by
    the prefix instead of the IPv4 address the socket would really reach.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        return _why_not_public_v6(ip)
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip == _METADATA:
        return "link-local: the cloud metadata service"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip in _SHARED:
        return "shared, carrier-grade NAT"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return ""
    return None if ip.is_global else "not globally routable"


def _why_not_public_v6(ip: ipaddress.IPv6Address) -> str | None:
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    for label, inner in (
        ("IPv4-mapped", ip.ipv4_mapped),
        ("IPv4-compatible", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _IPV4_COMPATIBLE else None),
        ("NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None),
    ):
        if inner is not None:  # these reach the IPv4 address itself: judge that alone
            why = _why_not_public(inner)
            return None if why is None else f"{label} {inner}" + (f", {why}" if why else "")
    for label, inner in (("6to4", ip.sixtofour), ("Teredo", ip.teredo[1] if ip.teredo else None)):
        if inner is not None and (why := _why_not_public(inner)) is not None:
            return f"{label} {inner}" + (f", {why}" if why else "")
    if ip.is_link_local:
        return "link-local"
    if ip.is_site_local:
        return "site-local"
    if ip.is_multicast:
        return "multicast"
    if ip in _ULA:
        return "unique local"
    if ip in _NAT64_LOCAL:
        return "local-use NAT64"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return ""
    return None if ip.is_global else "not globally routable"


def _refusal(address: IPAddress, why: str, host: str | None) -> str:
    what = "a private network address" + (f" ({why})" if why else "")
    tail = f"; postbot only fetches public feeds (allow it with {SETTING})"
    if host is None or _normal_host(host) == _normal_host(str(address)):
        return f"{address} is {what}{tail}"
    return f"{host} resolves to {address}, {what}{tail}"


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses postbot may connect to; the parsed FEED_ALLOW_PRIVATE_HOSTS.

    Public (globally routable) addresses are always allowed. `allow_all` lifts the guard
    entirely; otherwise a non-public address is allowed only for a host name in `hosts` or
    inside one of `networks` (an intranet feed server), so allowing one host opens nothing else.
    """

    allow_all: bool = False
    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> AddressPolicy:
        """`true`, `false`/empty, or a comma list of host names, addresses and CIDR networks.

        Raises PolicyError with a one-line message saying what is wrong and what to write.
        """
        value = (text or "").strip()
        if value.lower() in _TRUE:
            return cls(allow_all=True)
        if value.lower() in _FALSE:
            return cls()
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in value.split(","):
            entry = raw.strip()
            if not entry:
                continue
            if entry.lower() in _TRUE | _FALSE:
                raise PolicyError(
                    f"{entry!r} cannot be combined with other entries; "
                    f"write true, false, or a list such as {_LIST_EXAMPLE}"
                )
            network = _parse_network(entry)
            if network is None:
                hosts.add(_parse_host(entry))
            elif network not in networks:
                networks.append(network)
        return cls(hosts=frozenset(hosts), networks=tuple(networks))

    @classmethod
    def coerce(cls, value: AddressPolicy | bool | str | None) -> AddressPolicy:
        """What Settings may be given: a policy, a boolean (True: anything), or the setting's text."""
        if isinstance(value, AddressPolicy):
            return value
        if isinstance(value, bool):
            return cls(allow_all=value)
        if value is None or isinstance(value, str):
            return cls.parse(value)
        raise PolicyError(f"expected true, false or a list such as {_LIST_EXAMPLE}, not {type(value).__name__}")

    def check(self, host: str | None, address: str | IPAddress) -> None:
        """Allow `address` (which `host` resolved to, or the literal itself) or raise AddressRefused."""
        ip = address if isinstance(address, IPAddress) else _parse_address(address)
        if self.allow_all:
            return
        if host is not None and _normal_host(host) in self.hosts:
            return
        why = _why_not_public(ip)
        if why is None:
            return
        # ::ffff:10.0.0.5 reaches 10.0.0.5, so an allowed IPv4 network covers its mapped form too.
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        if any(candidate in network for candidate in (ip, mapped) if candidate for network in self.networks):
            return
        raise AddressRefused(_refusal(ip, why, host))

    def allows(self, host: str | None, address: str | IPAddress) -> bool:
        try:
            self.check(host, address)
        except AddressRefused:
            return False
        return True

    def __str__(self) -> str:
        """The setting's own syntax."""
        if self.allow_all:
            return "true"
        entries = [
            str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n) for n in self.networks
        ] + sorted(self.hosts)
        return ",".join(entries) or "false"


PUBLIC_ONLY = AddressPolicy()


def _parse_network(entry: str) -> IPNetwork | None:
    """An address or CIDR network; None when `entry` is not numeric (then it is a host name)."""
    base, slash, _prefix = entry.partition("/")
    try:
        address = _parse_address(base)
    except ValueError:
        if base.replace(".", "").isdigit():
            raise PolicyError(
                f"{entry!r} is not an IP address or network; write it like 10.0.0.5 or 10.0.0.0/8"
            ) from None
        return None
    if not slash:
        return ipaddress.ip_network(str(address).split("%", 1)[0])
    try:
        return ipaddress.ip_network(entry)
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(entry, strict=False)
    except ValueError:
        raise PolicyError(f"{entry!r} is not a network; write it like 10.0.0.0/8 or fd00::/8") from None
    raise PolicyError(f"{entry!r} has host bits set; write the network as {loose}")


def _parse_host(entry: str) -> str:
    host = _normal_host(entry)
    labels = host.split(".")
    valid = 0 < len(host) <= 253 and all(
        0 < len(label) <= 63 and label[0] != "-" and label[-1] != "-" and all(c.isalnum() or c in "-_" for c in label)
        for label in labels
    )
    if not valid or not host.isascii():
        raise PolicyError(
            f"{entry!r} is not a host name, address or network; "
            f"write true, false, or a comma list such as {_LIST_EXAMPLE}"
        )
    return host
