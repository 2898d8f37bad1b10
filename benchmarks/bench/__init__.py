"""The parts of benchmarks/replay.py: the peer, the measured clients, and the report.

- `common`: paths, constants and `Row`, one measured command;
- `cases`: the cases and the configurations (turnout.yaml, promptfoo's) built from them;
- `peer`: benchmarks/peer_server.py in a process of its own, and what it serves to a raw HTTP client;
- `measure`: child processes timed with their own rusage, and the figures taken from the peer's stats;
- `clients`: the SDK loop, Turnout's engine alone, `turnout run`, and promptfoo, each measured;
- `profiling`: py-spy's collapsed stacks, summarized;
- `report`: the targets, the table and the progress lines.
"""
