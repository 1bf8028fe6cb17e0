#!/usr/bin/env python3
"""PyTorch eager reference of Qwen2-VL for the engine benchmark.

Same architecture as the C# engine (src/DeepPerception.ML/Qwen2VL): vision tower (Conv3d patch embedding as one
matmul, 2-D rotary ViT attention restricted to each image, pre-norm blocks with quick-GELU MLP, PatchMerger) and the
Qwen2 decoder (M-RoPE with mrope_section, GQA, RMSNorm, SwiGLU, q/k/v biases, lm_head). Weights come from the
Hugging Face safetensors folder written by Qwen2VLCheckpoint.Save, read with a small numpy reader (no transformers).

Runs as a server for the C# benchmark: one JSON command per stdin line, one JSON answer per stdout line.
Attention is computed manually (PyTorch 1.13 has no scaled_dot_product_attention).

Run it with Debian's /usr/bin/python3 and OpenBLAS (openmp variant) on LD_LIBRARY_PATH, e.g.
LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp; the benchmark sets this for the child process.
"""

import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------------------------
# safetensors
# ---------------------------------------------------------------------------------------------------------------

_NP_DTYPES = {
    "F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_,
}


def read_safetensors(path):
    """Reads one .safetensors file into a dict name -> torch tensor (BF16 is widened to float32)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
        data = f.read()
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        shape = entry["shape"]
        raw = data[begin:end]
        if entry["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            arr = bits.view(np.float32)
        elif entry["dtype"] in _NP_DTYPES:
            arr = np.frombuffer(raw, dtype=_NP_DTYPES[entry["dtype"]])
        else:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {entry['dtype']}")
        out[name] = torch.from_numpy(arr.reshape(shape).copy())
    return out


def load_checkpoint(directory):
    """Reads config.json and model.safetensors (or the sharded index) of a Hugging Face folder."""
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    index = os.path.join(directory, "model.safetensors.index.json")
    weights = {}
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
        for name in files:
            weights.update(read_safetensors(os.path.join(directory, name)))
    else:
        weights.update(read_safetensors(os.path.join(directory, "model.safetensors")))
    return config, weights


# ---------------------------------------------------------------------------------------------------------------
# model
# ---------------------------------------------------------------------------------------------------------------

def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def attention(q, k, v, mask):
    """Manual scaled dot-product attention; mask is additive (or None). Softmax in float32, as Hugging Face."""
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores + mask
    probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
    return torch.matmul(probs, v)


class Qwen2VLReference:
    """Qwen2-VL forward pass over a dict of named parameters (Hugging Face names)."""

    def __init__(self, config, weights):
        self.c = config
        self.v = config["vision_config"]
        self.p = {name: torch.nn.Parameter(t.float()) for name, t in weights.items()}
        self.hidden = config["hidden_size"]
        self.heads = config["num_attention_heads"]
        self.kv_heads = config["num_key_value_heads"]
        self.head_dim = self.hidden // self.heads
        self.layers = config["num_hidden_layers"]
        self.eps = config["rms_norm_eps"]
        self.section = config["rope_scaling"]["mrope_section"]
        self.tie = config.get("tie_word_embeddings", False)
        hd = self.head_dim
        self.inv_freq = 1.0 / (config["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
        vhd = self.v["embed_dim"] // self.v["num_heads"]
        dim = vhd // 2
        self.vision_inv_freq = 1.0 / (10000.0 ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))

    def parameters(self):
        return list(self.p.values())

    # -- vision -------------------------------------------------------------------------------------------------

    def vision_rotary(self, grids):
        m = self.v["spatial_merge_size"]
        hpos, wpos = [], []
        for (t, h, w) in grids:
            hp = torch.arange(h).unsqueeze(1).expand(-1, w).reshape(h // m, m, w // m, m).permute(0, 2, 1, 3).flatten()
            wp = torch.arange(w).unsqueeze(0).expand(h, -1).reshape(h // m, m, w // m, m).permute(0, 2, 1, 3).flatten()
            hpos.append(hp.repeat(t))
            wpos.append(wp.repeat(t))
        hpos = torch.cat(hpos)
        wpos = torch.cat(wpos)
        max_grid = max(max(h, w) for (_, h, w) in grids)
        table = torch.outer(torch.arange(max_grid, dtype=torch.float32), self.vision_inv_freq)
        angles = torch.cat([table[hpos], table[wpos]], dim=1)
        emb = torch.cat([angles, angles], dim=1)
        return emb.cos(), emb.sin()

    def vision(self, pixel_values, grids):
        p, v = self.p, self.v
        e = v["embed_dim"]
        nh = v["num_heads"]
        hd = e // nh
        x = F.linear(pixel_values, p["visual.patch_embed.proj.weight"].view(e, -1))
        cos, sin = self.vision_rotary(grids)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)  # [seq, 1, hd]
        # Attention is restricted to each frame of each image: computed per segment (as Hugging Face's eager vision
        # attention splits by cu_seqlens), equal to one pass with a block-diagonal mask.
        seg = []
        for (t, h, w) in grids:
            seg.extend([h * w] * t)
        seq = x.shape[0]
        for i in range(v["depth"]):
            pre = f"visual.blocks.{i}."
            h = F.layer_norm(x, (e,), p[pre + "norm1.weight"], p[pre + "norm1.bias"], 1e-6)
            qkv = F.linear(h, p[pre + "attn.qkv.weight"], p[pre + "attn.qkv.bias"]).reshape(seq, 3, nh, hd)
            q, k, vv = qkv.unbind(1)  # [seq, heads, hd]
            q = (q.float() * cos + rotate_half(q.float()) * sin).to(x.dtype)
            k = (k.float() * cos + rotate_half(k.float()) * sin).to(x.dtype)
            q, k, vv = q.transpose(0, 1), k.transpose(0, 1), vv.transpose(0, 1)
            if len(seg) == 1:
                a = attention(q, k, vv, None)
            else:
                a = torch.cat([attention(qs, ks, vs, None) for qs, ks, vs in
                               zip(q.split(seg, dim=1), k.split(seg, dim=1), vv.split(seg, dim=1))], dim=1)
            a = a.transpose(0, 1).reshape(seq, -1)
            x = x + F.linear(a, p[pre + "attn.proj.weight"], p[pre + "attn.proj.bias"])
            h = F.layer_norm(x, (e,), p[pre + "norm2.weight"], p[pre + "norm2.bias"], 1e-6)
            h = F.linear(h, p[pre + "mlp.fc1.weight"], p[pre + "mlp.fc1.bias"])
            act = v.get("hidden_act", "quick_gelu")
            if act == "quick_gelu":
                h = h * torch.sigmoid(1.702 * h)
            elif act == "gelu":
                h = F.gelu(h)
            else:
                h = F.silu(h)
            x = x + F.linear(h, p[pre + "mlp.fc2.weight"], p[pre + "mlp.fc2.bias"])
        m2 = v["spatial_merge_size"] ** 2
        h = F.layer_norm(x, (e,), p["visual.merger.ln_q.weight"], p["visual.merger.ln_q.bias"], 1e-6).view(-1, e * m2)
        h = F.gelu(F.linear(h, p["visual.merger.mlp.0.weight"], p["visual.merger.mlp.0.bias"]))
        return F.linear(h, p["visual.merger.mlp.2.weight"], p["visual.merger.mlp.2.bias"])

    # -- positions ----------------------------------------------------------------------------------------------

    def rope_index(self, ids, grids):
        """get_rope_index for unpadded rows: returns positions [3, B, L] and per-row deltas."""
        c = self.c
        m = self.v["spatial_merge_size"]
        b, l = ids.shape
        pos = torch.zeros(3, b, l, dtype=torch.int64)
        deltas = []
        gi = 0
        for r in range(b):
            row = ids[r].tolist()
            parts = []
            st = 0
            nxt = 0
            while st < l:
                try:
                    ed = row.index(c["image_token_id"], st)
                except ValueError:
                    ed = l
                n = ed - st
                if n > 0:
                    parts.append(torch.arange(nxt, nxt + n).view(1, -1).expand(3, -1))
                    nxt += n
                if ed >= l:
                    break
                if ed == 0 or row[ed - 1] != c["vision_start_token_id"]:
                    raise ValueError(f"row {r}: image token at {ed} does not follow vision_start")
                t, h, w = grids[gi]
                gi += 1
                gt, gh, gw = t, h // m, w // m
                tt = torch.arange(gt).view(-1, 1).expand(-1, gh * gw).flatten()
                hh = torch.arange(gh).view(1, -1, 1).expand(gt, -1, gw).flatten()
                ww = torch.arange(gw).view(1, 1, -1).expand(gt, gh, -1).flatten()
                block = torch.stack([tt, hh, ww]) + nxt
                parts.append(block)
                nxt = int(block.max()) + 1
                st = ed + gt * gh * gw
            row_pos = torch.cat(parts, dim=1)
            pos[:, r, :] = row_pos
            deltas.append(int(row_pos.max()) + 1 - l)
        if gi != len(grids):
            raise ValueError(f"{len(grids)} grids given, {gi} images in the prompts")
        return pos, deltas

    def rope_cos_sin(self, positions):
        freqs = positions.float().unsqueeze(-1) * self.inv_freq  # [3, B, L, hd/2]
        emb = torch.cat([freqs, freqs], dim=-1)
        cos3, sin3 = emb.cos(), emb.sin()
        sections = self.section * 2
        cos = torch.cat([part[i % 3] for i, part in enumerate(cos3.split(sections, dim=-1))], dim=-1).unsqueeze(1)
        sin = torch.cat([part[i % 3] for i, part in enumerate(sin3.split(sections, dim=-1))], dim=-1).unsqueeze(1)
        return cos, sin

    # -- decoder ------------------------------------------------------------------------------------------------

    def rms(self, x, w):
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return w * xf.to(x.dtype)

    def embeds(self, ids, pixel_values, grids):
        e = self.p["model.embed_tokens.weight"][ids]
        if pixel_values is None:
            return e
        img = self.vision(pixel_values, grids)
        flat = e.reshape(-1, self.hidden)
        where = (ids.flatten() == self.c["image_token_id"]).nonzero().squeeze(1)
        if where.shape[0] != img.shape[0]:
            raise ValueError(f"image tokens {where.shape[0]} != image features {img.shape[0]}")
        flat = flat.index_copy(0, where, img)
        return flat.view(e.shape)

    def forward(self, ids, pixel_values=None, grids=(), positions=None, cache=None, logits_to_keep=0):
        """ids [B, L]; cache: dict with 'k', 'v' lists of [B, kv, cap, hd] and 'len'. Returns (logits, deltas)."""
        p = self.p
        b, l = ids.shape
        x = self.embeds(ids, pixel_values, grids)
        deltas = None
        if positions is None:
            if cache is not None and cache["len"] > 0:
                raise ValueError("decoding on a filled cache needs explicit positions")
            positions, deltas = self.rope_index(ids, grids)
        cos, sin = self.rope_cos_sin(positions)
        past = cache["len"] if cache is not None else 0
        mask = None
        if l > 1:
            total = past + l
            qi = torch.arange(past, total).unsqueeze(1)
            kj = torch.arange(total).unsqueeze(0)
            mask = torch.zeros(l, total, dtype=x.dtype).masked_fill(kj > qi, torch.finfo(x.dtype).min)
        nh, nkv, hd = self.heads, self.kv_heads, self.head_dim
        groups = nh // nkv
        for i in range(self.layers):
            pre = f"model.layers.{i}."
            h = self.rms(x, p[pre + "input_layernorm.weight"])
            q = F.linear(h, p[pre + "self_attn.q_proj.weight"], p[pre + "self_attn.q_proj.bias"]).view(b, l, nh, hd).transpose(1, 2)
            k = F.linear(h, p[pre + "self_attn.k_proj.weight"], p[pre + "self_attn.k_proj.bias"]).view(b, l, nkv, hd).transpose(1, 2)
            v = F.linear(h, p[pre + "self_attn.v_proj.weight"], p[pre + "self_attn.v_proj.bias"]).view(b, l, nkv, hd).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            if cache is not None:
                with torch.no_grad():
                    cache["k"][i][:, :, past:past + l].copy_(k)
                    cache["v"][i][:, :, past:past + l].copy_(v)
                k = cache["k"][i][:, :, :past + l]
                v = cache["v"][i][:, :, :past + l]
            if groups > 1:
                s = k.shape[2]
                k = k.unsqueeze(2).expand(b, nkv, groups, s, hd).reshape(b, nh, s, hd)
                v = v.unsqueeze(2).expand(b, nkv, groups, s, hd).reshape(b, nh, s, hd)
            a = attention(q, k, v, mask).transpose(1, 2).reshape(b, l, nh * hd)
            x = x + F.linear(a, p[pre + "self_attn.o_proj.weight"])
            h = self.rms(x, p[pre + "post_attention_layernorm.weight"])
            g = F.linear(h, p[pre + "mlp.gate_proj.weight"])
            u = F.linear(h, p[pre + "mlp.up_proj.weight"])
            x = x + F.linear(F.silu(g) * u, p[pre + "mlp.down_proj.weight"])
        if cache is not None:
            cache["len"] += l
        x = self.rms(x, p["model.norm.weight"])
        if logits_to_keep > 0:
            x = x[:, -logits_to_keep:]
        head = p["model.embed_tokens.weight"] if self.tie else p["lm_head.weight"]
        return F.linear(x, head), deltas

    def new_cache(self, b, capacity):
        shape = (b, self.kv_heads, capacity, self.head_dim)
        return {"k": [torch.zeros(shape) for _ in range(self.layers)],
                "v": [torch.zeros(shape) for _ in range(self.layers)], "len": 0}


# ---------------------------------------------------------------------------------------------------------------
# benchmark operations (mirror the C# side one for one)
# ---------------------------------------------------------------------------------------------------------------

def choose(logits):
    """Greedy pick plus the log-probability of the pick, as Generation.Choose does at temperature 0."""
    logp = logits.float().log_softmax(-1)
    nxt = logits.argmax(-1)
    picked = logp.gather(-1, nxt.unsqueeze(-1)).squeeze(-1)
    return nxt, picked


class Bench:
    def __init__(self, model_dir, inputs_dir):
        config, weights = load_checkpoint(model_dir)
        self.model = Qwen2VLReference(config, weights)
        with open(os.path.join(inputs_dir, "inputs.json")) as f:
            meta = json.load(f)
        self.ids = torch.tensor(meta["ids"], dtype=torch.int64)
        self.grid = tuple(meta["grid"])
        self.pixels = read_safetensors(os.path.join(inputs_dir, "inputs.safetensors"))["pixel_values"].float()

    def batch(self, b):
        ids = self.ids.unsqueeze(0).expand(b, -1).contiguous()
        pixels = self.pixels.repeat(b, 1)
        return ids, pixels, [self.grid] * b

    def generate(self, b, new_tokens):
        ids, pixels, grids = self.batch(b)
        m = self.model
        with torch.no_grad():
            cache = m.new_cache(b, ids.shape[1] + max(1, new_tokens))
            t0 = time.perf_counter()
            logits, deltas = m.forward(ids, pixels, grids, cache=cache, logits_to_keep=1)
            logits = logits[:, 0]
            t1 = time.perf_counter()
            tokens = [[] for _ in range(b)]
            for step in range(new_tokens):
                nxt, lp = choose(logits)
                nxt_list = nxt.tolist()
                lp.tolist()
                for r in range(b):
                    tokens[r].append(nxt_list[r])
                if step == new_tokens - 1:
                    break
                start = cache["len"]
                pos = torch.tensor([[start + d for d in deltas]] * 3, dtype=torch.int64).unsqueeze(-1)
                logits, _ = m.forward(torch.tensor(nxt_list, dtype=torch.int64).view(b, 1), positions=pos, cache=cache)
                logits = logits[:, 0]
            t2 = time.perf_counter()
        return t1 - t0, t2 - t1, tokens[0]

    def recompute(self, new_tokens):
        m = self.model
        seq = self.ids.tolist()
        with torch.no_grad():
            t0 = time.perf_counter()
            for _ in range(new_tokens):
                logits, _ = m.forward(torch.tensor([seq], dtype=torch.int64), self.pixels, [self.grid], logits_to_keep=1)
                nxt, lp = choose(logits[:, 0])
                seq.append(int(nxt.item()))
                lp.tolist()
            t1 = time.perf_counter()
        return t1 - t0, seq[len(self.ids):]

    def train_setup(self, b):
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-4, weight_decay=0.01)
        self.train_batch = b

    def train_step(self):
        ids, pixels, grids = self.batch(self.train_batch)
        labels = ids.clone()
        labels[labels == self.model.c["image_token_id"]] = -100
        t0 = time.perf_counter()
        self.optimizer.zero_grad()
        logits, _ = self.model.forward(ids, pixels, grids)
        v = logits.shape[-1]
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, v), labels[:, 1:].reshape(-1), ignore_index=-100)
        loss.backward()
        self.optimizer.step()
        t1 = time.perf_counter()
        return t1 - t0, float(loss.item())

    def check(self, logits_path):
        other = read_safetensors(logits_path)["logits"]
        with torch.no_grad():
            ids, pixels, grids = self.batch(1)
            mine, _ = self.model.forward(ids, pixels, grids)
        diff = (mine - other).abs().max().item()
        same_argmax = (mine.argmax(-1) == other.argmax(-1)).float().mean().item()
        return {"max_abs_diff": diff, "max_abs_logit": mine.abs().max().item(), "argmax_agreement": same_argmax}


def blas_library():
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower()}
        return sorted(libs)
    except OSError:
        return []


def serve(bench):
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "quit":
            break
        try:
            if op == "generate":
                res = [bench.generate(cmd["batch"], cmd["new_tokens"]) for _ in range(cmd["warmup"] + cmd["reps"])]
                res = res[cmd["warmup"]:]
                out = {"prefill_s": [r[0] for r in res], "decode_s": [r[1] for r in res], "tokens": res[-1][2]}
            elif op == "recompute":
                res = [bench.recompute(cmd["new_tokens"]) for _ in range(cmd["warmup"] + cmd["reps"])]
                res = res[cmd["warmup"]:]
                out = {"time_s": [r[0] for r in res], "tokens": res[-1][1]}
            elif op == "train_setup":
                bench.train_setup(cmd["batch"])
                out = {}
            elif op == "train":
                res = [bench.train_step() for _ in range(cmd["warmup"] + cmd["reps"])]
                res = res[cmd["warmup"]:]
                out = {"time_s": [r[0] for r in res], "loss": [r[1] for r in res]}
            elif op == "check":
                out = bench.check(cmd["logits"])
            elif op == "info":
                out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_library(),
                       "parameters": sum(p.numel() for p in bench.model.parameters())}
            else:
                raise ValueError(f"unknown op {op}")
            out["ok"] = True
        except Exception as e:  # reported to the caller, which fails with the message
            out = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="Hugging Face folder (config.json + safetensors)")
    ap.add_argument("--inputs", required=True, help="folder with inputs.json and inputs.safetensors")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    # Warm the BLAS so /proc/self/maps shows the library actually in use.
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    bench = Bench(args.model, args.inputs)
    sys.stdout.write(json.dumps({"ok": True, "ready": True}) + "\n")
    sys.stdout.flush()
    serve(bench)


if __name__ == "__main__":
    main()
