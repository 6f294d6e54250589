"""`ip("...")` in LogQL: one address, a CIDR block or a `first-last` range, IPv4 or IPv6, as Loki documents
it. A label filter (`| addr = ip("10.0.0.0/8")`) tests the label's value; a line filter
(`|= ip("10.0.0.0/8")`) keeps a line holding any address in the range. Addresses come from `ipaddress`."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["IpRange"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Runs of the characters an address is written with; each is checked by `ipaddress`, so a version number or
# a time of day is not taken for one.
_CANDIDATE = re.compile(r"[0-9A-Fa-f:.]*[.:][0-9A-Fa-f:.]*")


@dataclass(frozen=True)
class IpRange:
    """The range an `ip("...")` names; `ValueError` with one sentence when the text names none."""

    text: str
    _lo: Any = field(default=None, compare=False, repr=False)
    _hi: Any = field(default=None, compare=False, repr=False)

    @staticmethod
    def parse(text: str) -> IpRange:
        spec = text.strip()
        try:
            if "/" in spec:
                net = ipaddress.ip_network(spec, strict=False)
                lo, hi = net.network_address, net.broadcast_address
            elif "-" in spec:
                first, last = (part.strip() for part in spec.split("-", 1))
                lo, hi = ipaddress.ip_address(first), ipaddress.ip_address(last)
                if lo.version != hi.version or lo > hi:  # type: ignore[operator]
                    raise ValueError
            else:
                lo = hi = ipaddress.ip_address(spec)
        except ValueError:
            raise ValueError(
                f"invalid ip pattern {text!r}: write an address (10.0.0.1), a CIDR block (10.0.0.0/8) or a "
                "range (10.0.0.1-10.0.0.9), IPv4 or IPv6"
            ) from None
        return IpRange(text, lo, hi)

    def holds(self, address: Address) -> bool:
        return bool(address.version == self._lo.version and self._lo <= address <= self._hi)

    def matches_value(self, value: str) -> bool:
        """Whether a label value is an address in the range."""
        address = _address(value.strip())
        return address is not None and self.holds(address)

    def in_line(self, line: str) -> bool:
        """Whether the line holds an address in the range anywhere (`10.0.0.1:8080` counts as 10.0.0.1)."""
        for m in _CANDIDATE.finditer(line):
            token = m.group().strip(".:") if m.group() != "::" else "::"
            for candidate in (token, *_host_parts(token)):
                address = _address(candidate)
                if address is not None and self.holds(address):
                    return True
        return False


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _host_parts(token: str) -> list[str]:
    # An IPv4 address followed by `:port`, or more than one address joined by colons.
    return [part for part in token.split(":") if "." in part] if "." in token and ":" in token else []
