#!/usr/bin/env python3
"""Prints a canonical JSON view of a GGUF file as read by the independent PyPI `gguf` package
(llama.cpp's gguf-py), for tests/io/gguf_test.cpp to compare with lowbit's own reader.

  {"version": 3, "alignment": 32,
   "metadata": [[key, {"types": [value type ids, outer to inner], "values": [leaf values]}], ...],
   "tensors": [{"name", "type", "shape" (ggml order), "n_bytes", "sha256"}, ...]}

Strings are given as the hex of their bytes; arrays (nested ones flattened, as gguf-py does) list their
leaf values; the type chain follows the first element, as gguf-py records it.
"""
import hashlib
import json
import sys

from gguf import GGUFReader, GGUFValueType


def leaf(part, t):
    if t == GGUFValueType.STRING:
        return bytes(part).hex()
    return part.tolist()[0]


def main(path):
    r = GGUFReader(path, "r")
    out = {"metadata": [], "tensors": []}
    for key, f in r.fields.items():
        if key.startswith("GGUF."):
            if key == "GGUF.version":
                out["version"] = int(f.parts[f.data[0]][0])
            continue
        types = [int(t) for t in f.types]
        last = f.types[-1]
        values = [leaf(f.parts[i], last) for i in f.data]
        out["metadata"].append([key, {"types": types, "values": values}])
    out["alignment"] = int(r.alignment)
    for t in r.tensors:
        raw = bytes(r.data[t.data_offset:t.data_offset + t.n_bytes])
        out["tensors"].append({
            "name": t.name,
            "type": int(t.tensor_type),
            "shape": [int(d) for d in t.shape],
            "n_bytes": int(t.n_bytes),
            "sha256": hashlib.sha256(raw).hexdigest(),
        })
    json.dump(out, sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main(sys.argv[1])
