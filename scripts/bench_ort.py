"""picotag against ONNX Runtime int8 on the same network and token ids.

Driven by scripts/bench-ort.sh, which builds the binaries and the venv. For
each model: quantizes the ONNX export with onnxruntime's `quantize_dynamic`
(int8 weights, per channel), then times, in interleaved rounds, ORT (one
intra-op thread, only the outputs picotag computes by default) and picotag's
whole pipeline (the `ort_baseline` example), on the dev utterances of 5, 12
and 25 words. Both sides get the same warm-up passes. Prints one JSON object:
per model and length, the median over rounds of each side's per-call median,
and the ratio ORT / picotag (> 1: picotag is faster).
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import QuantType, quantize_dynamic


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    want = ["avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8"]
                    return [x for x in want if x in flags]
    except OSError:
        pass
    return []


def loadavg():
    """The 1-minute load average (how busy the machine was), or None."""
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def ort_session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_feeds(ids):
    x = np.asarray([ids], dtype=np.int64)
    return {
        "input_ids": x,
        "attention_mask": np.ones_like(x),
        "token_type_ids": np.zeros_like(x),
    }


def time_ort(sess, outputs, feeds, warmup, reps):
    for _ in range(warmup):
        for f in feeds:
            sess.run(outputs, f)
    us = []
    for _ in range(reps):
        for f in feeds:
            t0 = time.perf_counter()
            sess.run(outputs, f)
            us.append((time.perf_counter() - t0) * 1e6)
    return statistics.median(us)


def time_picotag(binary, model, utts, words, warmup, reps):
    cmd = [binary, "time", "--model", model, "--utts", utts, "--words", str(words),
           "--warmup", str(warmup), "--reps", str(reps)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    r = json.loads(out)
    return r["median_us"], r["backend"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True, help="the ort_baseline example")
    p.add_argument("--model", action="append", required=True,
                   help="NAME=PTAG=ONNX=UTTS.json (repeatable)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--no-amx", action="store_true",
                   help="recorded in the output: both sides were kept off AMX "
                        "(set up by bench-ort.sh --no-amx)")
    a = p.parse_args()
    if a.rounds < 1:
        sys.exit("--rounds must be >= 1")

    models = []
    for spec in a.model:
        name, ptag, onnx_path, utts = spec.split("=")
        q = onnx_path.replace(".onnx", ".int8.onnx")
        quantize_dynamic(onnx_path, q, weight_type=QuantType.QInt8, per_channel=True)
        with open(utts) as f:
            doc = json.load(f)
        sess = ort_session(q)
        known = {o.name for o in sess.get_outputs()}
        outputs = [o for o in doc["outputs"] if o in known]
        if len(outputs) != len(doc["outputs"]):
            sys.exit(f"{name}: the ONNX graph lacks some outputs of {doc['outputs']}")
        lengths = {}
        for words, us in doc["lengths"].items():
            lengths[int(words)] = {
                "feeds": [ort_feeds(u["ids"]) for u in us],
                "tokens": statistics.mean(len(u["ids"]) for u in us),
                "utterances": len(us),
            }
        models.append(dict(name=name, ptag=ptag, utts=utts, sess=sess,
                           outputs=outputs, lengths=lengths))

    samples = {(m["name"], w): {"picotag": [], "ort": []}
               for m in models for w in m["lengths"]}
    backend = None
    load_start = loadavg()
    for r in range(a.rounds):
        for m in models:
            for w, L in sorted(m["lengths"].items()):
                s = samples[(m["name"], w)]
                # Alternate which side runs first, round by round.
                sides = ["ort", "picotag"] if r % 2 == 0 else ["picotag", "ort"]
                for side in sides:
                    if side == "ort":
                        s["ort"].append(time_ort(m["sess"], m["outputs"], L["feeds"],
                                                 a.warmup, a.reps))
                    else:
                        us, backend = time_picotag(a.binary, m["ptag"], m["utts"], w,
                                                   a.warmup, a.reps)
                        s["picotag"].append(us)

    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "cpu": cpu_name(),
        "cpu_flags": cpu_flags(),
        "onnxruntime": ort.__version__,
        "picotag_backend": backend,
        "no_amx": a.no_amx,
        "rounds": a.rounds,
        "warmup_passes": a.warmup,
        "reps": a.reps,
        "loadavg_1min_start_end": [load_start, loadavg()],
        "cpus": os.cpu_count(),
        "models": {},
    }
    for m in models:
        per = {}
        for w, L in sorted(m["lengths"].items()):
            s = samples[(m["name"], w)]
            pm, om = statistics.median(s["picotag"]), statistics.median(s["ort"])
            per[str(w)] = {
                "utterances": L["utterances"],
                "tokens_mean": round(L["tokens"], 1),
                "picotag_ms": round(pm / 1000, 3),
                "ort_int8_ms": round(om / 1000, 3),
                "ort_over_picotag": round(om / pm, 2),
            }
        result["models"][m["name"]] = per
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
