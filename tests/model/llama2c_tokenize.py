#!/usr/bin/env python3
"""Independent reference encoders for lowbit's SPM tokenizer tests (reads llama2.c's tok512.bin).

  --algo llama2c : a literal transliteration of llama2.c run.c `encode` (dummy " " prefix token,
                   UTF-8 grouping with byte fallback id = byte + 3, then repeatedly merge the
                   leftmost best-scoring adjacent pair by scanning all pairs; O(n^2), as run.c).
  --algo llamacpp: llama.cpp's llm_tokenizer_spm (space prefix, ' ' -> U+2581, char symbols,
                   heap of bigrams by (score desc, left asc), byte fallback at the end).

Modes: --per-story encodes each story of the file (split at "\\n<|endoftext|>\\n" as the shared
reference protocol does) with BOS and truncates at --max-len; --whole encodes the whole file with
BOS (llama.cpp perplexity). Prints the token count and sha256 of the ids (int32 little-endian).
"""
import argparse
import hashlib
import heapq
import struct
import sys


def load_tok(path):
    d = open(path, "rb").read()
    (max_len,) = struct.unpack_from("<i", d, 0)
    off, vocab, scores = 4, [], []
    while off < len(d):
        s, n = struct.unpack_from("<fi", d, off)
        off += 8
        vocab.append(d[off:off + n])
        off += n
        scores.append(s)
    return vocab, scores


def encode_llama2c(text: bytes, vocab, scores, bos=True):
    lookup = {}
    for i, v in enumerate(vocab):
        lookup.setdefault(v, i)  # run.c bsearch over unique pieces
    toks = []
    if bos:
        toks.append(1)
    if text:
        toks.append(lookup[b" "])
    buf = b""
    for i, c in enumerate(text):
        if (c & 0xC0) != 0x80:
            buf = b""
        buf += bytes([c])
        nxt = text[i + 1] if i + 1 < len(text) else 0
        if (nxt & 0xC0) == 0x80 and len(buf) < 4:
            continue
        if buf in lookup:
            toks.append(lookup[buf])
        else:
            toks.extend(b + 3 for b in buf)
        buf = b""
    while True:
        best_score, best_id, best_idx = -1e10, -1, -1
        for i in range(len(toks) - 1):
            j = lookup.get(vocab[toks[i]] + vocab[toks[i + 1]], -1)
            if j != -1 and scores[j] > best_score:
                best_score, best_id, best_idx = scores[j], j, i
        if best_idx == -1:
            break
        toks[best_idx:best_idx + 2] = [best_id]
    return toks


def encode_llamacpp(text: bytes, vocab, scores, bos=True):
    # GGUF view of the vocabulary: ' ' in llama2.c pieces is U+2581 there.
    sp = "\u2581".encode()
    gv = [v.replace(b" ", sp) if i >= 259 else v for i, v in enumerate(vocab)]
    lookup = {}
    for i, v in enumerate(gv):
        lookup[v] = i
    out = [1] if bos else []
    if not text:
        return out
    s = (b" " + text).replace(b" ", sp)
    lens = [1] * 12 + [2, 2, 3, 4]
    syms = []  # [off, n, prev, next]
    off = 0
    while off < len(s):
        n = min(lens[s[off] >> 4], len(s) - off)
        syms.append([off, n, len(syms) - 1, -1])
        off += n
    for i in range(len(syms) - 1):
        syms[i][3] = i + 1
    heap = []

    def add(l, r):
        if l == -1 or r == -1:
            return
        t = s[syms[l][0]:syms[l][0] + syms[l][1] + syms[r][1]]
        j = lookup.get(t)
        if j is None:
            return
        heapq.heappush(heap, (-scores[j], l, r, len(t)))

    for i in range(1, len(syms)):
        add(i - 1, i)
    while heap:
        _, l, r, size = heapq.heappop(heap)
        L, R = syms[l], syms[r]
        if L[1] == 0 or R[1] == 0 or L[1] + R[1] != size:
            continue
        L[1] += R[1]
        R[1] = 0
        L[3] = R[3]
        if R[3] >= 0:
            syms[R[3]][2] = l
        add(L[2], l)
        add(l, L[3])
    i = 0
    while i != -1:
        o, n = syms[i][0], syms[i][1]
        t = s[o:o + n]
        if t in lookup:
            out.append(lookup[t])
        else:
            out.extend(b + 3 for b in t)
        i = syms[i][3]
    return out


def digest(ids):
    return hashlib.sha256(struct.pack(f"<{len(ids)}i", *ids)).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tok")
    ap.add_argument("text")
    ap.add_argument("--algo", choices=["llama2c", "llamacpp"], default="llama2c")
    ap.add_argument("--per-story", action="store_true")
    ap.add_argument("--max-len", type=int, default=512)
    ap.add_argument("--show", type=int, default=0, help="print the ids of the first N stories")
    args = ap.parse_args()
    vocab, scores = load_tok(args.tok)
    data = open(args.text, "rb").read()
    enc = encode_llama2c if args.algo == "llama2c" else encode_llamacpp
    if args.per_story:
        stories = [s for s in data.split(b"\n<|endoftext|>\n") if s.strip()]
        all_ids, n_pred = [], 0
        for k, st in enumerate(stories):
            ids = enc(st, vocab, scores)[: args.max_len]
            if k < args.show:
                print(k, ids)
            all_ids += ids
            n_pred += len(ids) - 1
        print(f"stories {len(stories)} tokens {len(all_ids)} predicted {n_pred} sha256 {digest(all_ids)}")
    else:
        ids = enc(data, vocab, scores)
        print(f"tokens {len(ids)} sha256 {digest(ids)}")


if __name__ == "__main__":
    sys.exit(main())
