"""End to end in a real headless browser: Playwright driving Debian's chromium package.

The whole flow a member's people go through, in one test (each step needs the last):
invite a user, set a password and TOTP, sign in, share a CSV, watch its status complete,
find the indicator, open it, create a feed with a preview, invite an organisation to a
group and accept, revoke a key, sign out. On failure the page's screenshot and HTML are
saved under .e2e-artifacts/; on success the screenshots of the README are refreshed in
docs/screenshots/. There is no skip: without chromium the test fails.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pyotp
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from server.store import groups
from tests.console.conftest import invite, next_code
from tests.helpers import auth, get_json, indicator, objects_url, post

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
ARTIFACTS = ROOT / ".e2e-artifacts"
PASSWORD = "a long and careful passphrase"


def chromium_path() -> str:
    """Debian's chromium (ACCORD_CHROMIUM overrides); a missing browser fails the test."""
    path = os.environ.get("ACCORD_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("chromium is not installed: apt-get install -y chromium (.ci/run does)")
    return path


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=chromium_path(),
            # Root in a container: chromium's sandbox needs user namespaces it may not have.
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        yield launched
        await launched.close()


class Flow:
    """Pages of the flow, with a record of the last page for failure artifacts."""

    def __init__(self) -> None:
        self.pages: list[Page] = []

    def track(self, page: Page) -> Page:
        self.pages.append(page)
        return page

    async def save_failure(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        for i, page in enumerate(self.pages):
            if page.is_closed():
                continue
            await page.screenshot(path=str(ARTIFACTS / f"{name}-{i}.png"), full_page=True)
            (ARTIFACTS / f"{name}-{i}.html").write_text(await page.content())


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def set_up_account(page: Page, link: str, *, totp: bool) -> str | None:
    """Open an invitation link, choose a password (and TOTP); the TOTP secret."""
    await page.goto(link)
    await expect(page.get_by_role("heading", name="Set up your account")).to_be_visible()
    secret = (await page.locator("#totp-secret").inner_text()).strip()
    await page.get_by_label("New password").fill(PASSWORD)
    await page.get_by_label("Repeat the password").fill(PASSWORD)
    if totp:
        await page.get_by_label("Authenticator code").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Create my account").click()
    await expect(page.get_by_role("heading", name="Home")).to_be_visible()
    return secret if totp else None


async def test_the_whole_flow_in_a_browser(browser, world, pool, base_url, http):
    # A loaded shared machine (CI, several suites at once) can take seconds per page.
    expect.set_options(timeout=20_000)
    flow = Flow()
    try:
        await _flow(flow, browser, world, pool, base_url, http)
    except BaseException:
        await flow.save_failure("flow")
        raise


async def _flow(flow: Flow, browser: Browser, world, pool, base_url: str, http) -> None:
    viewport = {"width": 1100, "height": 800}
    # The first org-admin of alice's organisation is invited by the platform (as the CLI
    # would); everyone after is invited in the console.
    _, token = await invite(pool, world.alice.org_id, "org-admin")
    ada = flow.track(await (await browser.new_context(base_url=base_url, viewport=viewport))
                     .new_page())
    await ada.goto("/console/invite/" + token)
    await shot(ada, "invitation")
    await set_up_account(ada, f"{base_url}/console/invite/{token}", totp=True)

    # Ada invites Sam, a contributor; the one-time link is shown once.
    await ada.get_by_role("link", name="Admin", exact=True).click()
    await ada.get_by_label("Email address", exact=True).fill("sam@alice.example")
    await ada.get_by_label("Name", exact=True).fill("Sam <b>Analyst</b>")
    await ada.locator("#invite-role").select_option("contributor")
    await ada.get_by_role("button", name="Invite", exact=True).click()
    link = (await ada.locator("#invite-link").inner_text()).strip()
    assert link.startswith(base_url + "/console/invite/")

    sam = flow.track(await (await browser.new_context(base_url=base_url, viewport=viewport))
                     .new_page())
    secret = await set_up_account(sam, link, totp=True)
    assert secret
    # The link was one-time.
    probe = flow.track(await (await browser.new_context(base_url=base_url)).new_page())
    response = await probe.goto(link)
    assert response.status == 404
    await probe.close()

    # Sign out, then in again with password and TOTP.
    await sam.get_by_role("button", name="Sign out").click()
    await expect(sam.get_by_role("heading", name="Sign in")).to_be_visible()
    await sam.get_by_label("Email address").fill("sam@alice.example")
    await sam.get_by_label("Password").fill(PASSWORD)
    # The next step's code: the one that confirmed the device at set-up is spent.
    await sam.get_by_label("Authenticator code").fill(next_code(secret))
    await shot(sam, "sign-in")
    await sam.get_by_role("button", name="Sign in").click()
    await expect(sam.get_by_role("heading", name="Home")).to_be_visible()

    # Share a CSV of IOCs; the status completes, one line was not an IOC.
    csv_path = ARTIFACTS / "iocs.csv"
    ARTIFACTS.mkdir(exist_ok=True)
    csv_path.write_text("value,description\n203.0.113.9,scanner seen at the border\n"
                        "evil.example.net,phishing domain\nnot an ioc at all,?\n")
    await sam.get_by_role("link", name="Share", exact=True).click()
    await sam.get_by_label("File").set_input_files(str(csv_path))
    await sam.get_by_label("TLP (of objects that carry no marking of their own)").select_option(
        "green")
    await sam.get_by_label("Labels, comma-separated").fill("border")
    await shot(sam, "share")
    await sam.get_by_role("button", name="Share", exact=True).click()
    state = sam.locator("#status-state")
    await expect(state).to_contain_text("Complete")
    await expect(state).to_contain_text("2 stored, 1 failed")
    await shot(sam, "status")

    # Find the indicator and open it.
    await sam.get_by_role("link", name="Search", exact=True).click()
    await sam.get_by_label("Id, value, or text in name and description").fill("203.0.113.9")
    await sam.get_by_role("button", name="Search").click()
    await sam.get_by_role("link", name="ipv4 203.0.113.9").click()
    await expect(sam.locator(".tlp").first).to_have_text("TLP:GREEN")
    await expect(sam.locator("code.pattern")).to_have_text("[ipv4-addr:value = '203.0.113.9']")
    await expect(sam.locator(".facts")).to_contain_text(world.alice.name)
    assert "/console/objects/indicator--" in sam.url
    await shot(sam, "object")

    # A feed, previewed before it is saved.
    await sam.get_by_role("link", name="Feeds", exact=True).click()
    await sam.get_by_role("link", name="New feed").click()
    await sam.get_by_label("Name").fill("Border IOCs")
    await sam.get_by_label("indicator", exact=True).check()
    await sam.get_by_label("Labels, comma-separated (any of them)").fill("border")
    # The tour's values are documentation addresses, on the shipped warninglists.
    await sam.get_by_label("Also warninglisted values", exact=False).check()
    await sam.get_by_role("button", name="Preview").click()
    await expect(sam.locator("#preview-result h2")).to_contain_text("2")
    await shot(sam, "feed-preview")
    await sam.get_by_role("button", name="Save the feed").click()
    await expect(sam.get_by_role("heading", name="Feed: Border IOCs")).to_be_visible()
    await expect(sam.locator("body")).to_contain_text("/export.txt")

    # Ada's organisation manages the group; it invites mallory's, whose admin accepts.
    async with pool.acquire() as conn:
        await groups.set_manager(conn, world.group_id, world.alice.org_id)
    await ada.get_by_role("link", name="Trust groups").click()
    await ada.locator(f'a[href="/console/groups/{world.group_id}"]').click()
    await ada.get_by_label("Invite an organisation (its name)").fill(world.mallory.name)
    await ada.get_by_role("button", name="Invite").click()
    await expect(ada.locator("body")).to_contain_text(f"{world.mallory.name}: pending")
    await shot(ada, "group")

    _, token = await invite(pool, world.mallory.org_id, "org-admin")
    mo = flow.track(await (await browser.new_context(base_url=base_url, viewport=viewport))
                    .new_page())
    await set_up_account(mo, f"{base_url}/console/invite/{token}", totp=False)
    await mo.get_by_role("link", name="Trust groups").click()
    await mo.get_by_role("button", name="Accept").click()
    await expect(mo.locator(f'a[href="/console/groups/{world.group_id}"]')).to_be_visible()
    # Now a member: the indicator Sam shared (GREEN) is visible to mallory's people.
    await mo.get_by_role("link", name="Search", exact=True).click()
    await mo.get_by_label("Id, value, or text in name and description").fill("203.0.113.9")
    await mo.get_by_role("button", name="Search").click()
    await expect(mo.get_by_role("link", name="ipv4 203.0.113.9")).to_be_visible()

    # Ada revokes alice's reader key; the API refuses it at once.
    key_id = world.alice.reader.key.id
    await ada.get_by_role("link", name="Admin", exact=True).click()
    await shot(ada, "admin")
    await ada.get_by_role("button", name=f"Revoke {key_id}").click()
    await expect(ada.locator("tr", has_text=key_id)).to_contain_text("revoked")
    async with http.get(f"{base_url}/taxii2/", headers=auth(world.alice.reader)) as resp:
        assert resp.status == 401

    # A STIX bundle with an object ingest refuses: the per-object failure is in its status,
    # and Home lists that post first, with its message.
    bundle = ARTIFACTS / "bundle.json"
    bundle.write_text(orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
                                    "objects": [indicator("198.51.100.99", pattern="[nope")]
                                    }).decode())
    await sam.get_by_role("link", name="Share", exact=True).click()
    await sam.get_by_label("File").set_input_files(str(bundle))
    await sam.get_by_role("button", name="Share", exact=True).click()
    await expect(state).to_contain_text("0 stored, 1 failed")
    await expect(sam.locator("ul.failures")).to_contain_text("objects[0]")
    await sam.get_by_role("link", name="Home").click()
    await expect(sam.locator("tbody tr").first).to_have_class("failed")
    await expect(sam.locator("tr.failed")).to_contain_text("objects[0]")
    await shot(sam, "home")

    # Keyboard: the first Tab reaches the skip link, which moves focus to the content.
    await sam.keyboard.press("Tab")
    assert await sam.evaluate("document.activeElement.textContent") == "Skip to content"
    # A phone's width: nothing overflows sideways.
    await sam.set_viewport_size({"width": 375, "height": 740})
    for path in ("/console/search", "/console/feeds/new", "/console/"):
        await sam.goto(path)
        assert await sam.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth"), path
    await shot(sam, "phone-home")

    # Sign out: the session is gone, pages lead to sign-in.
    await sam.get_by_role("button", name="Sign out").click()
    await sam.goto("/console/feeds")
    await expect(sam.get_by_role("heading", name="Sign in")).to_be_visible()
    assert re.search(r"/console/sign-in$", sam.url)


async def test_a_pending_status_goes_live_with_htmx(browser, world, pool, base_url, http):
    """The status page swaps in its live part when the post completes, with no reload and
    nothing refused by the Content-Security-Policy."""
    from tests.test_sharing_rules import custom_tlp
    expect.set_options(timeout=20_000)
    strict = custom_tlp("amber+strict")
    waiting = await post(http, base_url, world.collection_id, world.alice.contributor,
                         indicator("198.51.100.65", object_marking_refs=[strict["id"]]))
    _, token = await invite(pool, world.alice.org_id, "reader")
    flow = Flow()
    try:
        page = flow.track(await (await browser.new_context(base_url=base_url)).new_page())
        refused: list[str] = []
        # (The browser's own /favicon.ico probe answers 401 outside the console: not ours.)
        page.on("console", lambda m: refused.append(m.text)
                if "Content Security Policy" in m.text or "htmx" in m.text else None)
        await set_up_account(page, f"{base_url}/console/invite/{token}", totp=False)
        await page.goto(f"/console/status/{waiting['id']}")
        await expect(page.locator("#status-state")).to_contain_text("In progress")
        await page.wait_for_function("typeof window.htmx === 'object'")
        await page.evaluate("window.stillHere = true")  # gone if the page reloaded
        await post(http, base_url, world.collection_id, world.alice.contributor, strict)
        await expect(page.locator("#status-state")).to_contain_text("Complete")
        assert await page.evaluate("window.stillHere === true")
        assert not refused, refused
    except BaseException:
        await flow.save_failure("live-status")
        raise


async def test_a_held_object_is_reviewed_in_the_console(browser, world, pool, base_url, http):
    """The producer's org-admin opens the review queue, sees the personal data marked in
    the held object, and releases it redacted with a reason."""
    from server.store import review as review_store
    expect.set_options(timeout=20_000)
    phone = "+44 20 7946 0958"
    async with pool.acquire() as conn:
        await review_store.set_group_policy(conn, world.group_id, "hold")
    flagged = indicator("198.51.100.66", description=f"The victim's phone is {phone}.")
    status = await post(http, base_url, world.collection_id, world.alice.contributor, flagged)
    assert status["pending_count"] == 1, status
    _, token = await invite(pool, world.alice.org_id, "org-admin")
    flow = Flow()
    try:
        page = flow.track(await (await browser.new_context(
            base_url=base_url, viewport={"width": 1100, "height": 800})).new_page())
        await set_up_account(page, f"{base_url}/console/invite/{token}", totp=False)
        await page.get_by_role("link", name="Privacy review").click()
        await expect(page.get_by_role("heading", name="Privacy review")).to_be_visible()
        await page.get_by_role("link", name=flagged["id"]).click()
        await expect(page.locator("#held-object mark.finding")).to_have_text(phone)
        await shot(page, "privacy-review")
        await page.get_by_label("Reason (kept in the audit log)").fill("the victim's number")
        await page.get_by_role("button", name="Release redacted").click()
        await expect(page.locator("#review-done")).to_contain_text("Released redacted")
        await expect(page.get_by_role("link", name=flagged["id"])).to_have_count(0)
    except BaseException:
        await flow.save_failure("privacy-review")
        raise
    _, body, _ = await get_json(http, f"{base_url}/taxii2/root/status/{status['id']}/",
                                world.alice.reader)
    assert body["pending_count"] == 0 and body["success_count"] == 1, body
    _, body, _ = await get_json(
        http, objects_url(base_url, world.collection_id, f"{flagged['id']}/"), world.bob.reader)
    assert phone not in orjson.dumps(body).decode()
