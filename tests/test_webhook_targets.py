"""Webhook targets: only globally routable addresses, refused without naming what a host
resolved to."""

from __future__ import annotations

import ipaddress

import pytest

from server.feeds.webhooks import UnsafeTarget, check_target, internal


@pytest.mark.parametrize("address", [
    "100.100.100.200",  # carrier-grade NAT space; a cloud metadata address
    "100.64.0.1", "192.0.0.8", "192.0.2.1", "198.18.0.1", "127.0.0.1", "10.1.2.3",
    "169.254.169.254", "0.0.0.0", "224.0.0.1", "255.255.255.255",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
    "::ffff:127.0.0.1", "::ffff:100.100.100.200",  # IPv4-mapped
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "::1", "fe80::1", "fc00::1", "ff02::1", "::",
])
def test_addresses_that_are_not_globally_routable_are_internal(address):
    assert internal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "2002:808:808::"])
def test_global_addresses_are_not_internal(address):
    assert not internal(ipaddress.ip_address(address))


@pytest.mark.parametrize("host", ["100.100.100.200", "[2002:7f00:1::]", "192.0.0.8",
                                  "[::ffff:10.0.0.1]", "localhost"])
async def test_check_target_refuses_without_disclosing_the_address(host):
    with pytest.raises(UnsafeTarget) as refused:
        await check_target(f"https://{host}/hook", allow_private=False)
    message = str(refused.value)
    assert "globally routable" in message
    for disclosed in ("100.100", "2002", "192.0", "10.0", "127.0", "::1"):
        assert disclosed not in message


async def test_check_target_allows_private_when_the_deployment_does():
    await check_target("https://100.100.100.200/hook", allow_private=True)


async def test_check_target_accepts_a_global_address():
    await check_target("https://8.8.8.8/hook", allow_private=False)
