"""CPU of the ingest path's pure steps per object, in this process: real ATT&CK objects
(Mobile 17.1 + ICS 18.1, tests/fixtures) beside the generated indicators.

Run from the repository root: `.venv/bin/python bench/validation.py`. Each step runs on
500-object envelopes (as `bench/ingest.py --real` posts them); the best of --repeat runs is
printed in microseconds per object, which moves less with the host's load than end-to-end
rates do. Steps: strict JSON parsing (orjson plus the duplicate-member proof), STIX
validation (`_check`: schemas/stix.py and the Accord extension), the submission policy,
canonical serialisation, facets.
"""

from __future__ import annotations

import argparse
import timeit
import uuid
from datetime import UTC, datetime

import orjson
from common import attack_objects, make_indicators

from schemas import strict_json
from schemas.tlp import Tlp
from server import policy
from server.ingest.envelope import _canonical, _check
from server.ingest.facets import facets_of


def _steps(objects: list[dict]) -> dict[str, object]:
    body = orjson.dumps({"objects": objects})
    parsed = strict_json.loads(body)["objects"]
    now = datetime.now(UTC)
    # As a platform admin: the step times the policy's work, whatever its authorship rule.
    sub = policy.Submission(uuid.uuid4(), f"identity--{uuid.uuid4()}", True, uuid.uuid4(),
                            f"identity--{uuid.uuid4()}", True, Tlp.AMBER, "credited")
    checked = [_check(i, o, True, now) for i, o in enumerate(parsed)]
    return {
        "strict JSON parse": lambda: strict_json.loads(body),
        "validate (_check)": lambda: [_check(i, o, True, now) for i, o in enumerate(parsed)],
        "policy.decide": lambda: [policy.decide(sub, c.obj, c.terms, {}) for c in checked],
        "canonical JSON": lambda: [_canonical(o) for o in parsed],
        "facets": lambda: [facets_of(o) for o in parsed],
    }


def main() -> None:
    """Print microseconds per object of each step, for both workloads."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeat", type=int, default=7, help="runs of each step; the best counts")
    p.add_argument("--number", type=int, default=5, help="passes over the envelope a run")
    args = p.parse_args()
    # Every 8th object: ~500 of Mobile and ICS alike, all types in their proportions.
    workloads = {"real ATT&CK": attack_objects()[::8], "indicators": make_indicators(500)}
    print(f"{'step':22s}" + "".join(f"{name:>16s}" for name in workloads) + "  (us/object)")
    steps = {name: _steps(objects) for name, objects in workloads.items()}
    totals = dict.fromkeys(workloads, 0.0)
    for step in steps["indicators"]:
        row = []
        for name, objects in workloads.items():
            best = min(timeit.repeat(steps[name][step], number=args.number,
                                     repeat=args.repeat)) / args.number
            per = 1e6 * best / len(objects)
            totals[name] += per
            row.append(f"{per:16.2f}")
        print(f"{step:22s}" + "".join(row))
    print(f"{'total':22s}" + "".join(f"{t:16.2f}" for t in totals.values()))
    size = {name: len(orjson.dumps(objs)) / len(objs) for name, objs in workloads.items()}
    print(f"{'bytes/object':22s}" + "".join(f"{s:16.0f}" for s in size.values()))


if __name__ == "__main__":
    main()
