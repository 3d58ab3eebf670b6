"""`python -m bench`: the load benchmark of the running bot (issue 9).

Runs every scenario (or `--scenario one|fifty|steady|burst|hostile`; `--quick` for a
scaled-down smoke run; `--stream-mode draft` runs the bot with STREAM_MODE=draft, `both` runs
each scenario in either mode, one after the other; `--chats`, `--rate`, `--first-token-delay`,
... to change a scenario's load), prints each figure beside its target with ok/MISSED, and
writes everything to bench/results/latest.json (or `--output`). Owns the command line and the
table; what is measured and how lives in `scenarios.py` and `measure.py` (`hostile.py` for the
hostile scenario, which compares two runs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from bench.hostile import run_hostile
from bench.scenarios import (
    SCENARIOS,
    Scenario,
    ScenarioResult,
    StreamMode,
    figures_as_json,
    quick,
    run_scenario,
)

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
PROBLEM_LINES = 5

T = TypeVar("T")


def table(result: ScenarioResult) -> str:
    scenario = result.scenario
    lines = [f"== {scenario.name}: {scenario.description}"]
    lines.append(f"   {'figure':<46} {'value':>10} {'unit':<4} {'target':<10} verdict")
    for figure in result.figures:
        target = str(figure.target) if figure.target else ""
        row = f"   {figure.label:<46} {figure.shown():>10} {figure.unit:<4} {target:<10} "
        lines.append((row + figure.verdict).rstrip())
    if result.problems:
        lines.append("   bot log warnings / unfinished replies:")
        lines += [f"     {line[:160]}" for line in result.problems[:PROBLEM_LINES]]
        if len(result.problems) > PROBLEM_LINES:
            lines.append("     ... more in the JSON")
    return "\n".join(lines)


def adjusted(scenario: Scenario, args: argparse.Namespace) -> Scenario:
    """`scenario` with the load options given on the command line."""
    if args.quick:
        scenario = quick(scenario)
    reply = replace(
        scenario.reply,
        first_token_delay=_given(args.first_token_delay, scenario.reply.first_token_delay),
        seconds=_given(args.stream_seconds, scenario.reply.seconds),
        tokens_per_second=_given(args.tokens_per_second, scenario.reply.tokens_per_second),
    )
    rate = scenario.arrival_rate if args.rate is None else (args.rate or None)
    return replace(
        scenario,
        chats=_given(args.chats, scenario.chats),
        arrival_rate=rate,
        group_every=_given(args.group_every, scenario.group_every),
        reply=reply,
    )


def in_mode(scenario: Scenario, mode: StreamMode, named: bool) -> Scenario:
    """`scenario` with the bot in `mode`; `named`: its name says which (both modes run)."""
    name = f"{scenario.name}-{mode}" if named else scenario.name
    return replace(scenario, stream_mode=mode, name=name)


def _given(value: T | None, default: T) -> T:
    return default if value is None else value


async def run(scenarios: list[Scenario], scaled_down: bool) -> dict[str, Any]:
    """Run the scenarios one after another, printing each table; the report for the JSON."""
    report: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "quick": scaled_down,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "scenarios": {},
    }
    for scenario in scenarios:
        print(f"running {scenario.name} ...", flush=True)
        with tempfile.TemporaryDirectory(prefix=f"bench-{scenario.name}-") as folder:
            runner = run_hostile if scenario.hostile else run_scenario
            result = await runner(scenario, Path(folder))
        print(table(result), flush=True)
        report["scenarios"][scenario.name] = figures_as_json(result)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), help="run only this scenario")
    parser.add_argument("--quick", action="store_true", help="scaled-down run (smoke test)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON file ({RESULTS})")
    parser.add_argument(
        "--stream-mode",
        choices=("edit", "draft", "both"),
        default="edit",
        help="the bot's STREAM_MODE (both: each scenario in either mode)",
    )
    load = parser.add_argument_group("load (overrides the scenario's own)")
    load.add_argument("--chats", type=int, help="number of chats")
    load.add_argument("--rate", type=float, help="new chats per second (0: all at once)")
    load.add_argument("--group-every", type=int, help="every n-th chat is a group (0: none)")
    load.add_argument("--first-token-delay", type=float, help="upstream seconds to first token")
    load.add_argument("--tokens-per-second", type=float, help="upstream streaming speed")
    load.add_argument("--stream-seconds", type=float, help="upstream streaming time per reply")
    args = parser.parse_args(argv)
    names = [args.scenario] if args.scenario else list(SCENARIOS)
    modes: list[StreamMode] = (
        ["edit", "draft"] if args.stream_mode == "both" else [args.stream_mode]
    )
    scenarios = [
        in_mode(adjusted(SCENARIOS[n], args), mode, len(modes) > 1) for n in names for mode in modes
    ]
    report = asyncio.run(run(scenarios, args.quick))
    output: Path = args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    missed = [
        f"{name}: {figure['label']}"
        for name, scenario in report["scenarios"].items()
        for figure in scenario["figures"].values()
        if figure["verdict"] == "MISSED"
    ]
    print(f"{len(missed)} target(s) missed{': ' if missed else ''}{'; '.join(missed)}")
    print(f"results in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
