"""A decoder worker process: ``python -m avgzsl.media.worker``, driven by :mod:`avgzsl.media.workers`.

Protocol (JSON lines): it prints ``{"ready": true}`` once its imports are done, then
reads one job per line from stdin (the fields of :class:`avgzsl.media.decode.DecodeJob`)
and answers each with one line: what :func:`avgzsl.media.decode.run_job` found, or
``{"error": reason}``.  It exits at the end of stdin, and dies with its parent
(``PR_SET_PDEATHSIG``, set by the parent when it starts the worker).

Decoding runs here, not in the pipeline's process: a decoder crash or hang on a broken
download costs this process (the parent kills it on timeout and starts another), never
the pipeline worker, and the parent stays light.
"""
from __future__ import annotations

import json
import sys


def main() -> int:
    from avgzsl.media.decode import DecodeJob, run_job
    from avgzsl.media.probe import MediaError

    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            job = json.loads(line)
            if job.get("segment") is not None:
                job["segment"] = tuple(job["segment"])
            reply = run_job(DecodeJob(**job))
        except MediaError as err:
            reply = {"error": err.reason}
        except Exception as err:  # noqa: BLE001 - a row's reason, never a dead worker
            reply = {"error": f"internal error: {type(err).__name__}: {err}"[:300]}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
