"""Where a run's spec travels: the project's modules ("rooms") a short ``reproduce`` walks it through.

Runs ``avgzsl reproduce`` in this process on tiny synthetic features (1 epoch × 2 batches,
``AVGZSL_HOME`` in a temp dir) under :func:`sys.setprofile`, from ``pipelines.cli.main``
to the end of the ``gzsl_evaluation`` asset, and records every call of a project function
that receives a :class:`RunSpec` among its arguments (``self`` included; a list or tuple of
specs counts).  Then, inside ``gzsl_evaluation`` only, every call that receives one of the
evaluation's inputs (its locals ``run``, ``spec``, ``layout``, ``files``, ``tables``, ``summaries``,
``data``, ``provenance``; by identity).

For each trace it prints the rooms in visiting order (consecutive calls in one room are one
visit), the number of distinct rooms, the re-entries (a visit to a room the trace had
already left) and the climbs (a visit to a higher layer: avgzsl core < resources < assets <
pipelines), and the upward calls among them (a function called from a lower layer: a callback).  Each trace is printed twice: with every call, and without the traced objects'
own methods (``self`` the spec or an input: ``spec.variant`` is a visit to
``avgzsl.experiments.spec`` each time the property is read).

    python benchmarks/spec_trace.py [--root CHECKOUT] [--calls]

``--root`` traces another checkout (its code first on ``sys.path``); nothing is timed.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

LAYERS = {"avgzsl": 0, "resources": 1, "assets": 2, "pipelines": 3}
EVALUATION_INPUTS = ("run", "spec", "layout", "files", "tables", "summaries", "data", "provenance")


class Tracer:
    def __init__(self, root: Path):
        from avgzsl.experiments.spec import RunSpec

        self.root, self.spec_type = str(root.resolve()) + os.sep, RunSpec
        self.started = self.done = False
        self.evaluation = None  # the gzsl_evaluation frame while it runs
        # (room, function, whether it is a method of the traced object itself, the caller's room)
        self.spec_calls: list[tuple] = []
        self.input_calls: list[tuple] = []

    def _room(self, frame) -> str | None:
        path = frame.f_code.co_filename
        if not path.startswith(self.root):
            return None
        relative = Path(path[len(self.root):]).with_suffix("")
        if relative.parts[0] not in LAYERS:
            return None
        return ".".join(relative.parts[:-1] if relative.name == "__init__" else relative.parts)

    @staticmethod
    def _arguments(frame) -> list:
        code = frame.f_code
        count = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 4) + bool(code.co_flags & 8)
        values = []
        for name in code.co_varnames[:count]:
            value = frame.f_locals.get(name)
            if type(value) is dict and name != "summaries":  # **kwargs
                values.extend(value.values())
            elif type(value) in (list, tuple):  # exact types: a record may refuse iteration
                values.extend(value)
                values.append(value)
            else:
                values.append(value)
        return values

    def _caller(self, frame) -> str | None:
        """The room of the nearest project function up the stack."""
        frame = frame.f_back
        while frame is not None and self._room(frame) is None:
            frame = frame.f_back
        return None if frame is None else self._room(frame)

    @staticmethod
    def _self(frame):
        return frame.f_locals.get("self") if frame.f_code.co_varnames[:1] == ("self",) else None

    def __call__(self, frame, event, arg):
        if event not in ("call", "return") or self.done:
            return
        room = self._room(frame)
        if room is None:
            return
        name = f"{room}.{frame.f_code.co_qualname if hasattr(frame.f_code, 'co_qualname') else frame.f_code.co_name}"
        if event == "return":
            if frame is self.evaluation:
                self.done = True
            return
        if not self.started:
            if name != "pipelines.cli.main":
                return
            self.started = True
        if frame.f_code.co_name == "gzsl_evaluation" and room == "assets.evaluation":
            self.evaluation = frame
        args = self._arguments(frame)
        caller = self._caller(frame)
        if any(isinstance(a, self.spec_type) for a in args):
            self.spec_calls.append((room, name, isinstance(self._self(frame), self.spec_type), caller))
        if self.evaluation is not None and frame is not self.evaluation:
            inputs = {id(v) for k, v in self.evaluation.f_locals.items() if k in EVALUATION_INPUTS}
            if any(id(a) in inputs for a in args):
                self.input_calls.append((room, name, id(self._self(frame)) in inputs, caller))


def _layer(room: str | None) -> int:
    return -1 if room is None else LAYERS[room.split(".")[0]]


def walk(calls: list[tuple]) -> dict:
    """Visits (consecutive calls in one room merged), distinct rooms, re-entries, climbs (a visit to a higher
    layer than the visit before) and upward calls (a call from a lower layer: a callback)."""
    visits: list[str] = []
    for room, *_ in calls:
        if not visits or visits[-1] != room:
            visits.append(room)
    reentries = sum(1 for i, room in enumerate(visits) if room in visits[:i])
    climbs = sum(1 for a, b in zip(visits, visits[1:]) if _layer(b) > _layer(a))
    upward = [c for c in calls if _layer(c[0]) > _layer(c[3]) >= 0]
    return {"calls": len(calls), "visits": visits, "rooms": len(set(visits)), "reentries": reentries,
            "climbs": climbs, "upward": upward}


def _print(title: str, calls: list[tuple], own: bool, show_calls: bool) -> None:
    calls = calls if own else [c for c in calls if not c[2]]
    w = walk(calls)
    title += "" if own else " (the objects' own methods left out)"
    print(f"\n{title}: {w['calls']} calls, {len(w['visits'])} visits, {w['rooms']} rooms, "
          f"{w['reentries']} re-entries, {w['climbs']} climbs, {len(w['upward'])} upward calls")
    print("  " + " → ".join(w["visits"]))
    for room, name, _, caller in w["upward"]:
        print(f"  upward: {caller} → {name}")
    if show_calls:
        previous = None
        for _, name, *_ in calls:
            if name != previous:
                print(f"    {name}")
            previous = name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the checkout to trace (default: this one)")
    parser.add_argument("--calls", action="store_true", help="list the calls, too")
    args = parser.parse_args()
    root = args.root.resolve()
    sys.path.insert(0, str(root))
    work = Path(tempfile.mkdtemp(prefix="avgzsl-spec-trace-"))
    os.environ["AVGZSL_HOME"] = str(work / "home")
    os.environ.setdefault("AVGZSL_TORCH_THREADS", "1")
    from pipelines.cli import main as cli

    assert cli(["synthetic", str(work / "features"), "--shape", "tiny"]) == 0
    tracer = Tracer(root)
    sys.setprofile(tracer)
    try:
        code = cli(["reproduce", "--dataset", "ucf", "--features-root", str(work / "features"), "--epochs", "1",
                    "--batches-per-epoch", "2", "--quiet", "--report-dir", str(work / "report")])
    finally:
        sys.setprofile(None)
    print(f"checkout {root} (reproduce exit {code}; state in {work})")
    for own in (True, False):
        _print("run spec, pipelines.cli.main → end of gzsl_evaluation", tracer.spec_calls, own, args.calls)
        _print("evaluation inputs inside gzsl_evaluation", tracer.input_calls, own, args.calls)
    return code


if __name__ == "__main__":
    sys.exit(main())
