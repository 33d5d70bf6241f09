#!/usr/bin/env python3
"""Measures one run of a command for the benchmark scripts.

Usage: timed-run.py OUT ERR CMD [ARG...]

Prints "WALL_US RSS_KB": the command's wall time in microseconds and its
peak resident set in KiB. It is run twice:

- for the wall time, spawned directly (stdout to OUT, stderr to ERR); the
  clock starts just before the spawn and stops when the process is reaped,
  so no helper process (a shell, `date`, GNU time) starts or exits inside
  the interval. With a shell taking the time around GNU time, that overhead
  was about 4 ms a run, which swamps a command of a few milliseconds.
- for the peak RSS, under GNU time (output discarded). It is not read from
  the first run: a child spawned by this interpreter inherits its high-water
  mark (about 10 MB) at exec, where GNU time's own is about 2 MB.

The command's exit status is not judged (a scanner exits non-zero when it
finds something).
"""
import os
import sys
import tempfile
import time


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: timed-run.py OUT ERR CMD [ARG...]")
    out, err, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    out_fd, err_fd = os.open(out, flags, 0o644), os.open(err, flags, 0o644)
    actions = [(os.POSIX_SPAWN_DUP2, out_fd, 1), (os.POSIX_SPAWN_DUP2, err_fd, 2)]
    start = time.perf_counter_ns()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=actions)
    os.waitpid(pid, 0)
    wall_us = (time.perf_counter_ns() - start) // 1000
    os.close(out_fd)
    os.close(err_fd)

    with tempfile.NamedTemporaryFile(mode="r", suffix=".rss") as rss:
        devnull = os.open(os.devnull, os.O_WRONLY)
        actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
        timed = ["/usr/bin/time", "-f", "%M", "-o", rss.name, *cmd]
        os.waitpid(os.posix_spawn(timed[0], timed, os.environ, file_actions=actions), 0)
        os.close(devnull)
        rss_kb = int(rss.read().split()[-1])
    print(wall_us, rss_kb)


if __name__ == "__main__":
    main()
