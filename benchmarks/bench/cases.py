"""The cases, the same for every client, and the configurations built from them."""

from __future__ import annotations

from typing import Any

from bench.common import MAX_TOKENS, MODEL


def make_cases(n: int) -> list[dict[str, Any]]:
    """Cases whose question tells the peer its answer (an 8-token sentence) and whose expected is it."""
    colours = ["amber", "blue", "cyan", "green", "indigo", "magenta", "olive", "red", "teal", "violet"]
    cases = []
    for i in range(n):
        answer = f"The code word for case {i} is {colours[i % len(colours)]}."
        question = (f"Case {i}: read the note and reply with the code word sentence only.\n"
                    f"Note: the archive lists {i * 7 % 101} entries under section {i % 13}.\nANSWER: {answer}")
        cases.append({"id": f"case-{i:05d}", "input": question, "expected": answer,
                      "tags": [f"lang:{'fr' if i % 5 == 0 else 'en'}"]})
    return cases


def turnout_yaml(base_url: str, concurrencies: list[int]) -> str:
    """One golden set, and per C a model with `max_concurrency: C` and a watch `bench-cC` on it."""
    lines = ["golden_sets:", "  - {name: bench, file: cases.jsonl, privacy: internal}", "models:"]
    for c in concurrencies:
        lines += [f"  - name: bench-model-c{c}", "    kind: openai", f"    base_url: {base_url}",
                  f"    model: {MODEL}", f"    params: {{temperature: 0, max_tokens: {MAX_TOKENS}}}",
                  f"    max_concurrency: {c}", "    stream: true", "    timeout_s: 30", "    hosting: api",
                  "    pricing: {input_per_mtok: 0.15, output_per_mtok: 0.6}"]
    lines.append("watches:")
    for c in concurrencies:
        lines += [f"  - name: bench-c{c}", "    golden_set: bench", f"    production: bench-model-c{c}",
                  '    template: "{input}"', "    scorers: [exact_match]"]
    return "\n".join(lines) + "\n"


def promptfoo_config(base_url: str, cases: list[dict[str, Any]]) -> dict[str, Any]:
    provider = {"id": f"openai:chat:{MODEL}",
                "config": {"apiBaseUrl": base_url, "apiKey": "unused", "temperature": 0, "max_tokens": MAX_TOKENS}}
    tests = [{"vars": {"input": c["input"]}, "assert": [{"type": "equals", "value": c["expected"]}]} for c in cases]
    return {"description": "turnout replay benchmark", "prompts": ["{{input}}"], "providers": [provider],
            "tests": tests}


def model_spec_data(base_url: str, concurrency: int) -> dict[str, Any]:
    """The benchmark's model, as turnout.yaml declares it."""
    return {"name": f"bench-model-c{concurrency}", "kind": "openai", "base_url": base_url, "model": MODEL,
            "params": {"temperature": 0, "max_tokens": MAX_TOKENS}, "max_concurrency": concurrency,
            "stream": True, "timeout_s": 30, "hosting": "api",
            "pricing": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}}
