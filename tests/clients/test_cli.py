"""`accord push | pull | follow | import misp` driven as a member or an analyst runs them."""

from __future__ import annotations

import asyncio
import hashlib
import signal
import uuid
from pathlib import Path

import aiohttp
import orjson
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.clients.conftest import Cli
from tests.feed_helpers import create_feed
from tests.helpers import auth, indicator

DATA = Path(__file__).parent / "data"


def ioc_csv(count_scale: int = 1) -> str:
    """10,000 mixed IOCs (every kind the CLI detects) as a CSV with a header."""
    rows = ["value,description"]
    rows += [f"10.{i // 65536}.{(i // 256) % 256}.{i % 256},scanner" for i in range(2000)]
    rows += [f"2001:db8::{i:x}," for i in range(1000)]
    rows += [f"100.{64 + i // 256}.{i % 256}.0/24,botnet range" for i in range(500)]
    rows += [f"host{i}.bad-domain.example," for i in range(2000)]
    rows += [f"https://bad{i}.example.net/login?id={i}," for i in range(1500)]
    rows += [f"{hashlib.md5(str(i).encode()).hexdigest()},dropper" for i in range(1000)]
    rows += [f"{hashlib.sha1(str(i).encode()).hexdigest()}," for i in range(1000)]
    rows += [f"{hashlib.sha256(str(i).encode()).hexdigest()}," for i in range(500)]
    rows += [f"user{i}@phish.example.org,sender" for i in range(500)]
    return "\n".join(rows) + "\n"


def bundle(*objects: dict) -> bytes:
    return orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
                         "objects": list(objects)})


def lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


async def versions(http: aiohttp.ClientSession, base_url: str, key, collection) -> list[dict]:
    """Every version of every object in a collection, read over TAXII."""
    url = f"{base_url}/taxii2/root/collections/{collection}/objects/"
    found, params = [], {"match[version]": "all", "limit": "1000"}
    while True:
        async with http.get(url, params=params, headers=auth(key)) as resp:
            assert resp.status == 200
            envelope = orjson.loads(await resp.read())
        found += envelope.get("objects", [])
        if not envelope.get("more"):
            return found
        params["next"] = envelope["next"]


async def test_push_csv_and_bundle_then_pull_incrementally(cli: Cli, world, tmp_path):
    coll = str(world.collection_id)
    csv_file = tmp_path / "iocs.csv"
    csv_file.write_text(ioc_csv())
    extra = [indicator(f"192.0.2.{i}") for i in range(5)]
    stix_file = tmp_path / "bundle.json"
    stix_file.write_bytes(bundle(*extra))

    done = await cli(world.alice.contributor.token, "push", "--csv", str(csv_file),
                     "--collection", coll, "--tlp", "green", "--confidence", "80",
                     "--label", "phishing", "--label", "q3")
    assert done.code == 0, done.err
    assert "10000 value(s), 10000 accepted, 0 refused" in done.out
    assert "(100%)" in done.err  # the progress bar reached the end
    done = await cli(world.alice.contributor.token, "push", str(stix_file), "--collection", coll)
    assert done.code == 0, done.err
    assert "5 accepted" in done.out

    # Another member of the group pulls it all, then nothing new.
    out = tmp_path / "sync" / "objects.jsonl"
    done = await cli(world.bob.reader.token, "pull", coll, "--out", str(out))
    assert done.code == 0, done.err
    pulled = lines(out)
    assert len(pulled) == 10_005 and len({o["id"] for o in pulled}) == 10_005
    assert (out.parent / "objects.jsonl.accord-state.json").exists()
    by_pattern = {o.get("pattern"): o for o in pulled}
    for pattern in ("[ipv4-addr:value = '10.0.0.7']", "[ipv6-addr:value = '2001:db8::a']",
                    "[ipv4-addr:value = '100.64.3.0/24']",
                    "[domain-name:value = 'host5.bad-domain.example']",
                    "[url:value = 'https://bad9.example.net/login?id=9']",
                    f"[file:hashes.MD5 = '{hashlib.md5(b'3').hexdigest()}']",
                    f"[file:hashes.'SHA-1' = '{hashlib.sha1(b'3').hexdigest()}']",
                    f"[file:hashes.'SHA-256' = '{hashlib.sha256(b'3').hexdigest()}']",
                    "[email-addr:value = 'user4@phish.example.org']"):
        assert pattern in by_pattern, pattern
    ioc = by_pattern["[ipv4-addr:value = '100.64.3.0/24']"]
    assert ioc["confidence"] == 80 and ioc["labels"] == ["phishing", "q3"]
    assert ioc["description"] == "botnet range"
    assert ioc["object_marking_refs"] == [
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]

    done = await cli(world.bob.reader.token, "pull", coll, "--out", str(out))
    assert done.code == 0, done.err
    assert "nothing new" in done.out
    assert len(lines(out)) == 10_005

    # One more object: the next pull fetches exactly it.
    new = indicator("192.0.2.200")
    more = tmp_path / "more.json"
    more.write_bytes(bundle(new))
    assert (await cli(world.alice.contributor.token, "push", str(more), "--collection",
                      coll)).code == 0
    done = await cli(world.bob.reader.token, "pull", coll, "--out", str(out))
    assert "pulled 1 object version(s)" in done.out, done
    assert lines(out)[-1]["id"] == new["id"]


async def test_pull_a_feed_into_a_directory(cli: Cli, world, http, base_url, tmp_path):
    feed = await create_feed(http, base_url, world.bob.reader, name="ipv4 only",
                             filter={"collections": [str(world.collection_id)],
                                     "observable_kinds": ["ipv4"]})
    src = tmp_path / "mixed.txt"
    src.write_text("# blocklist\n203.0.113.9\nevil.example.com\n203.0.113.10  # C2\n"
                   "hxxp://evil[.]example.com/a\n")
    done = await cli(world.alice.contributor.token, "push", "--txt", str(src),
                     "--collection", str(world.collection_id))
    assert done.code == 0, done.err
    assert "4 value(s), 4 accepted" in done.out  # two IPs, a domain, a refanged URL
    out = tmp_path / "feed-dir"
    done = await cli(world.bob.reader.token, "pull", feed["id"], "--out", f"{out}/")
    assert done.code == 0, done.err
    files = sorted(p.name for p in out.glob("indicator--*.json"))
    assert len(files) == 2
    assert (out / ".accord-pull.json").exists()
    done = await cli(world.bob.reader.token, "pull", feed["id"], "--out", f"{out}/")
    assert "nothing new in feed" in done.out


async def test_follow_a_feed_while_posting(cli: Cli, world, http, base_url, tmp_path):
    feed = await create_feed(http, base_url, world.bob.reader, name="all of the collection",
                             filter={"collections": [str(world.collection_id)]})
    coll_url = f"{base_url}/taxii2/root/collections/{world.collection_id}/objects/"

    async def post(*objects: dict) -> None:
        async with http.post(coll_url, data=orjson.dumps({"objects": list(objects)}),
                             headers=auth(world.alice.contributor)) as resp:
            assert resp.status == 202

    first = [indicator(f"198.51.100.{i}") for i in range(3)]
    await post(*first)
    # To stdout: the three already there (--from-beginning), then three posted meanwhile.
    follower = await cli.start(world.bob.reader.token, "follow", feed["id"],
                               "--from-beginning", "--count", "6")
    assert follower.stdout is not None
    got = [orjson.loads(await asyncio.wait_for(follower.stdout.readline(), 30))
           for _ in range(3)]
    later = [indicator(f"198.51.100.{i}") for i in range(10, 13)]
    for obj in later:
        await post(obj)
    got += [orjson.loads(await asyncio.wait_for(follower.stdout.readline(), 30))
            for _ in range(3)]
    assert await asyncio.wait_for(follower.wait(), 30) == 0
    assert [o["id"] for o in got] == [o["id"] for o in first + later]

    # To a file: a second run resumes after the last line the first one wrote.
    out = tmp_path / "live.jsonl"
    done = await cli(world.bob.reader.token, "follow", feed["id"], "--from-beginning",
                     "--out", str(out), "--count", "4", timeout=30)
    assert done.code == 0, done.err
    newest = indicator("198.51.100.99")
    await post(newest)
    done = await cli(world.bob.reader.token, "follow", feed["id"], "--out", str(out),
                     "--count", "3", timeout=30)
    assert done.code == 0, done.err
    ids = [o["id"] for o in lines(out)]
    assert ids == [o["id"] for o in first + later + [newest]]


async def test_import_a_misp_event(cli: Cli, world, http, base_url):
    coll = str(world.collection_id)
    event = DATA / "misp_event.json"
    done = await cli(world.alice.contributor.token, "import", "misp", str(event),
                     "--collection", coll)
    assert done.code == 0, done.err
    stored = {o["id"]: o for o in await versions(http, base_url, world.bob.reader, coll)}
    ioc = stored["indicator--518b4bcb-a86b-4783-9457-391d548b605b"]
    assert ioc["pattern"] == "[domain-name:value = 'secure-login-bank.example']"
    assert "indicator--94a2b00f-bec3-4f8a-bea4-e4ccf0de776f" in stored
    assert any(o["type"] == "report" for o in stored.values())
    # Importing the same event again stores nothing new (same ids and versions).
    done = await cli(world.alice.contributor.token, "import", "misp", str(event),
                     "--collection", coll, "--restart")
    assert done.code == 0, done.err
    again = await versions(http, base_url, world.bob.reader, coll)
    assert len(again) == len(stored)


async def test_interrupted_push_resumes_without_double_posting(cli: Cli, world, http,
                                                               base_url, tmp_path):
    coll = str(world.collection_id)
    src = tmp_path / "ips.txt"
    src.write_text("".join(f"198.18.{i // 256}.{i % 256}\n" for i in range(2000)))
    args = ("push", "--txt", str(src), "--collection", coll, "--chunk-objects", "100")
    key = world.alice.contributor.token
    proc = await cli.start(key, *args)
    states = cli.home / "state" / "accord" / "push"
    # Kill it (no clean-up of any kind) as soon as a first chunk is acknowledged.
    for _ in range(2000):
        found = list(states.glob("*.json")) if states.exists() else []
        if found and orjson.loads(found[0].read_bytes()).get("chunks"):
            break
        await asyncio.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    acked = len(orjson.loads(found[0].read_bytes())["chunks"])
    assert 1 <= acked < 20

    done = await cli(key, *args)
    assert done.code == 0, done.err
    assert f"resuming; {acked} chunk(s)" in done.err
    assert "2000 value(s), 2000 accepted" in done.out
    stored = await versions(http, base_url, world.bob.reader, coll)
    # Exactly one version per object: the resumed run rebuilt byte-identical indicators.
    assert len(stored) == 2000 and len({o["id"] for o in stored}) == 2000

    # Run again once complete: nothing to post, still a success.
    done = await cli(key, *args)
    assert done.code == 0 and "resuming; 20 chunk(s)" in done.err
    assert len(await versions(http, base_url, world.bob.reader, coll)) == 2000


async def test_refused_objects_are_printed_and_fail_the_run(cli: Cli, world, tmp_path):
    good = indicator("192.0.2.1")
    bad = {**indicator("192.0.2.2"), "pattern": "[ipv4-addr:value = "}
    src = tmp_path / "mixed.jsonl"
    src.write_bytes(orjson.dumps(good) + b"\n" + orjson.dumps(bad) + b"\n")
    done = await cli(world.alice.contributor.token, "push", str(src),
                     "--collection", str(world.collection_id))
    assert done.code == 1
    assert f"refused {bad['id']}" in done.err and "pattern" in done.err
    assert "2 object(s), 1 accepted, 1 refused" in done.out

    txt = tmp_path / "junk.txt"
    txt.write_text("192.0.2.3\nnot an ioc at all\n")
    done = await cli(world.alice.contributor.token, "push", "--txt", str(txt),
                     "--collection", str(world.collection_id))
    assert done.code == 1
    assert f"refused {txt}:2" in done.err


async def test_clear_errors_for_wrong_url_bad_key_and_unknown_collection(cli: Cli, world,
                                                                         tmp_path):
    src = tmp_path / "one.json"
    src.write_bytes(bundle(indicator()))
    coll = str(world.collection_id)
    key = world.alice.contributor.token

    done = await cli(key, "push", str(src), "--collection", coll, url="http://127.0.0.1:9")
    assert done.code == 1
    assert "cannot reach an Accord server at http://127.0.0.1:9" in done.err

    # Something answers, but it is not Accord.
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    app = web.Application()
    app.router.add_get("/", hello)
    other = TestServer(app, host="127.0.0.1")
    await other.start_server()
    try:
        done = await cli(key, "pull", coll, "--out", str(tmp_path / "x.jsonl"),
                         url=str(other.make_url("")).rstrip("/"))
    finally:
        await other.close()
    assert done.code == 1 and "does not look like an Accord server" in done.err

    done = await cli("abc.not-a-real-secret", "push", str(src), "--collection", coll)
    assert done.code == 1 and "HTTP 401" in done.err

    done = await cli(world.mallory.contributor.token, "push", str(src), "--collection", coll)
    assert done.code == 1 and "HTTP 404" in done.err

    done = await cli(None, "follow", str(uuid.uuid4()), url="")
    assert done.code == 1 and "no server" in done.err


async def test_profile_file(cli: Cli, world, tmp_path, base_url):
    profile = cli.home / "config" / "accord" / "profile.toml"
    profile.parent.mkdir(parents=True)
    profile.write_text(f'[default]\nurl = "http://127.0.0.1:9"\nkey = "x.y"\n\n'
                       f'[exchange]\nurl = "{base_url}"\nkey = "{world.bob.reader.token}"\n')
    out = tmp_path / "p.jsonl"
    done = await cli(None, "pull", str(world.collection_id), "--out", str(out),
                     "--profile", "exchange", url="")
    assert done.code == 0, done.err
    other = tmp_path / "elsewhere.toml"
    other.write_text(f'url = "{base_url}"\nkey = "{world.bob.reader.token}"\n')
    done = await cli(None, "pull", str(world.collection_id), "--out", str(tmp_path / "q"),
                     "--profile", str(other), url="")
    assert done.code == 0, done.err
    # The default table, where nothing listens; --url and --key win over it.
    done = await cli(None, "pull", str(world.collection_id), "--out", str(tmp_path / "r"),
                     url="")
    assert done.code == 1 and "127.0.0.1:9" in done.err
    done = await cli(None, "pull", str(world.collection_id), "--out", str(out), "--url",
                     base_url, "--key", world.bob.reader.token, url="")
    assert done.code == 0 and "nothing new" in done.out


async def test_ctrl_c_stops_a_large_list_push_and_the_rerun_builds_only_the_rest(
        cli: Cli, world, http, base_url, tmp_path):
    coll = str(world.collection_id)
    src = tmp_path / "big.txt"
    src.write_text("".join(f"100.{64 + i // 65536}.{(i // 256) % 256}.{i % 256}\n"
                           for i in range(30_000)))
    args = ("push", "--txt", str(src), "--collection", coll, "--chunk-objects", "500")
    key = world.alice.contributor.token
    proc = await cli.start(key, *args)
    states = cli.home / "state" / "accord" / "push"
    for _ in range(4000):
        found = list(states.glob("*.json")) if states.exists() else []
        if found and orjson.loads(found[0].read_bytes()).get("chunks"):
            break
        await asyncio.sleep(0.005)
    proc.send_signal(signal.SIGINT)  # as Ctrl-C in a terminal
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 130, err
    assert b"interrupted; run the same command again to resume" in err
    state = orjson.loads(found[0].read_bytes())
    acked = len(state["chunks"])
    assert 1 <= acked < 60 and not state.get("complete"), "it ran on after Ctrl-C"
    # With envelopes in flight at the signal, what the journal holds was acknowledged: every
    # value of every journaled range is stored (the abandoned ones may be too; not journaled).
    values = src.read_text().split()
    names = {o["name"] for o in await versions(http, base_url, world.bob.reader, coll)}
    for first, entry in state["chunks"].items():
        assert {f"ipv4 {v}" for v in values[int(first):entry["end"]]} <= names

    done = await cli(key, *args)
    assert done.code == 0, done.err
    assert f"skipping the {acked * 500} acknowledged indicator(s) without building them" \
        in done.err
    assert "30000 value(s), 30000 accepted, 0 refused" in done.out
    stored = await versions(http, base_url, world.bob.reader, coll)
    assert len(stored) == 30_000 and len({o["id"] for o in stored}) == 30_000


async def test_a_resume_after_out_of_order_acknowledgements_sends_only_the_gap(
        cli: Cli, world, http, base_url, tmp_path):
    coll = str(world.collection_id)
    src = tmp_path / "gap.txt"
    src.write_text("".join(f"198.19.{i // 256}.{i % 256}\n" for i in range(3000)))
    args = ("push", "--txt", str(src), "--collection", coll, "--chunk-objects", "500",
            "--in-flight", "4")
    key = world.alice.contributor.token
    done = await cli(key, *args)
    assert done.code == 0, done.err
    path, = (cli.home / "state" / "accord" / "push").glob("*.json")
    state = orjson.loads(path.read_bytes())
    assert sorted(int(k) for k in state["chunks"]) == [0, 500, 1000, 1500, 2000, 2500]
    # As a crash leaves it when the envelope of values 1000-1499 was still in flight while
    # the later ones were acknowledged: a gap in the journal, not at its end.
    del state["chunks"]["1000"]
    state["complete"] = False
    path.write_bytes(orjson.dumps(state))

    done = await cli(key, *args)
    assert done.code == 0, done.err
    assert "skipping the 2500 acknowledged indicator(s) without building them" in done.err
    assert "3000 value(s), 3000 accepted, 0 refused" in done.out
    after = orjson.loads(path.read_bytes())["chunks"]
    # Only the gap was sent: one new envelope for it, the others kept their statuses.
    assert after["1000"]["end"] == 1500 and after["1000"]["count"] == 500
    assert {k: v["status"] for k, v in after.items() if k != "1000"} == \
        {k: v["status"] for k, v in state["chunks"].items()}
    stored = await versions(http, base_url, world.bob.reader, coll)
    assert len(stored) == 3000 and len({o["id"] for o in stored}) == 3000


async def test_follow_without_out_does_not_promise_a_resume(cli: Cli, world, http, base_url):
    feed = await create_feed(http, base_url, world.bob.reader, name="interrupted")
    proc = await cli.start(world.bob.reader.token, "follow", feed["id"], "--from-beginning")
    obj = indicator("192.0.2.99")
    async with http.post(f"{base_url}/taxii2/root/collections/{world.collection_id}/objects/",
                         data=orjson.dumps({"objects": [obj]}),
                         headers=auth(world.alice.contributor)) as resp:
        assert resp.status == 202
    assert proc.stdout is not None
    for _ in range(1000):  # running and streaming: the object (or an earlier one) arrives
        if (await asyncio.wait_for(proc.stdout.readline(), 30)).strip():
            break
    proc.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 130
    assert b"nothing was kept to resume from (give --out FILE" in err
    assert b"run the same command again" not in err
