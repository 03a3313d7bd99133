#!/usr/bin/env python3
"""Trains the student of a kdq distillation recipe (written by `kdq distill ... --export-recipe DIR`)
with Hugging Face transformers + accelerate, on kdq's objective, schedule, clip order, layer maps
and quantization-aware encodings:

    pip install torch transformers accelerate soundfile
    python3 DIR/train_student.py                 # one process (CPU or one GPU)
    accelerate launch DIR/train_student.py       # GPUs and nodes (or torchrun)
    python3 DIR/train_student.py --check         # kdq's loss on the first batch, reproduced

Objective, per predicted position (targets from the teacher's labels in clips.jsonl):
(1 - alpha)*CE + alpha*(T^2*KL(teacher || student at T) + beta*hidden), hidden = the MSE between
each student block's residual stream (through a learned adapter, identity at the start) and its
teacher block's (divided by the teacher's mean square when normalize_hidden), averaged over the
map; with layer_matching "dynamic" the map is re-chosen every step: the increasing assignment of
student to teacher blocks with the least summed squared error. The encoder is the teacher's,
frozen; the decoder blocks and final norm train (the embeddings too when train_embeddings).
AdamW (no decay on biases and norms), global-norm clipping, linear warm-up then cosine decay to 0,
kdq's clip order for every epoch; validation KL after every epoch, early stopping with patience,
the best weights kept; the encoder's output of every clip is computed once and kept in
memory (f16, as kdq's clip cache). Quantization-aware training: the planned tensors are quantized in the
forward pass as kdq's nearest block quantizer does (ggml's q8_0, q5_1, q5_0, q4_1, q4_0; f16;
bf16), gradients straight through to the f32 masters. With several processes every process
takes its share of each batch and gradients are averaged (per-process means: equal to kdq's
batch mean when the shares have equal numbers of positions).

The trained masters go to DIR/trained (Hugging Face format): `kdq import DIR/trained -o s.kdq`,
then `kdq quantize s.kdq ... --keep` with the rules in DIR/recipe.json `quantize_keep` gives the
planned encodings (nearest quantizer, the bytes the training saw).
"""
import argparse, json, math, os, sys, time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
QK = 32


def hf_name(name):
    """openai-whisper's canonical tensor name -> transformers' WhisperForConditionalGeneration name."""
    rules = [("decoder.token_embedding.weight", "model.decoder.embed_tokens.weight"),
             ("decoder.positional_embedding", "model.decoder.embed_positions.weight"),
             ("decoder.ln.", "model.decoder.layer_norm."), ("decoder.blocks.", "model.decoder.layers."),
             (".cross_attn_ln.", ".encoder_attn_layer_norm."), (".attn_ln.", ".self_attn_layer_norm."),
             (".mlp_ln.", ".final_layer_norm."), (".cross_attn.", ".encoder_attn."), (".attn.", ".self_attn."),
             (".query.", ".q_proj."), (".key.", ".k_proj."), (".value.", ".v_proj."), (".out.", ".out_proj."),
             (".mlp.0.", ".fc1."), (".mlp.2.", ".fc2.")]
    for a, b in rules:
        name = name.replace(a, b)
    return name


# ---- ggml's reference block quantizers (nearest), as kdq's fake quantization uses them --------

def _f16(x):
    return x.to(torch.float16).to(torch.float32)


def _blocks(w):
    return w.reshape(-1, QK)


def _symmetric(w, levels):
    """q4_0 (levels 8) and q5_0 (16): d = the signed value of largest magnitude / -levels."""
    b = _blocks(w)
    idx = b.abs().argmax(dim=1, keepdim=True)
    mx = torch.gather(b, 1, idx)
    d = mx / -levels
    inv = torch.where(d != 0, 1.0 / d, torch.zeros_like(d))
    q = torch.clamp(torch.trunc(b * inv + (levels + 0.5)), max=2 * levels - 1)
    return ((q - levels) * _f16(d)).reshape(w.shape)


def _affine(w, top):
    """q4_1 (top 15) and q5_1 (31): d = (max - min) / top, m = min."""
    b = _blocks(w)
    lo, hi = b.min(dim=1, keepdim=True).values, b.max(dim=1, keepdim=True).values
    d = (hi - lo) / top
    inv = torch.where(d != 0, 1.0 / d, torch.zeros_like(d))
    q = torch.clamp(torch.trunc((b - lo) * inv + 0.5), max=top)
    return (q * _f16(d) + _f16(lo)).reshape(w.shape)


def _q8_0(w):
    b = _blocks(w)
    d = b.abs().max(dim=1, keepdim=True).values / 127
    inv = torch.where(d != 0, 1.0 / d, torch.zeros_like(d))
    return (torch.round(b * inv) * _f16(d)).reshape(w.shape)


ENCODERS = {"q4_0": lambda w: _symmetric(w, 8), "q5_0": lambda w: _symmetric(w, 16), "q4_1": lambda w: _affine(w, 15),
            "q5_1": lambda w: _affine(w, 31), "q8_0": _q8_0, "f16": _f16,
            "bf16": lambda w: w.to(torch.bfloat16).to(torch.float32), "f32": lambda w: w}


class FakeQuantization(torch.nn.Module):
    """Forward: the weight as its encoding decodes it; backward: straight through."""

    def __init__(self, encoding):
        super().__init__()
        self.encode = ENCODERS[encoding]

    def forward(self, w):
        with torch.no_grad():
            q = self.encode(w.detach())
        return w + (q - w).detach()


# ---- data ----------------------------------------------------------------------------------------

def load_audio(path):
    import soundfile as sf
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    data = data.mean(axis=1)
    if rate != 16000:
        import torchaudio
        data = torchaudio.functional.resample(torch.from_numpy(data), rate, 16000).numpy()
    return data[: 30 * 16000]


class Clips:
    def __init__(self, path, n_mels):
        from transformers import WhisperFeatureExtractor
        self.clips = {}
        for line in open(path):
            c = json.loads(line)
            self.clips[c["id"]] = c
        self.features = WhisperFeatureExtractor(feature_size=n_mels)
        self.cache = {}

    def encoded(self, ids, encoder, device):
        """The frozen encoder's output for each clip, computed once and kept (f16, on the CPU)
        as kdq's clip cache keeps it."""
        missing = [i for i in ids if i not in self.cache]
        if missing:
            audio = [load_audio(self.clips[i]["audio"]) for i in missing]
            mel = self.features(audio, sampling_rate=16000, return_tensors="pt").input_features
            with torch.no_grad():
                out = encoder(mel.to(device)).last_hidden_state
            for i, e in zip(missing, out):
                self.cache[i] = e.to(torch.float16).cpu()
        return torch.stack([self.cache[i] for i in ids]).to(device=device, dtype=torch.float32)

    def batch(self, ids, pad):
        """Tokens and targets as kdq's TokenBatch: position i reads token i and predicts token
        i+1; prompt tokens and padding are not predicted (-1)."""
        seqs = [self.clips[i]["tokens"] for i in ids]
        prompts = [self.clips[i]["prompt_length"] for i in ids]
        length = max(1, max(len(s) for s in seqs) - 1)
        tokens = torch.full((len(ids), length), pad, dtype=torch.long)
        targets = torch.full((len(ids), length), -1, dtype=torch.long)
        for b, (s, p) in enumerate(zip(seqs, prompts)):
            for i in range(length):
                if i < len(s):
                    tokens[b, i] = s[i]
                if i + 1 < len(s) and i + 1 >= p:
                    targets[b, i] = s[i + 1]
        return tokens, targets


# ---- the objective -------------------------------------------------------------------------------

def decode(model, tokens, encoded):
    """Logits and the residual stream after every decoder block."""
    hidden = []
    hooks = [layer.register_forward_hook(lambda m, i, o: hidden.append(o[0] if isinstance(o, tuple) else o))
             for layer in model.model.decoder.layers]
    try:
        out = model.model.decoder(input_ids=tokens, encoder_hidden_states=encoded, use_cache=False)
    finally:
        for h in hooks:
            h.remove()
    return model.proj_out(out.last_hidden_state), hidden


def increasing_assignment(cost):
    """For rows in order, strictly increasing columns minimizing the summed cost."""
    n, m = len(cost), len(cost[0])
    best = [[math.inf] * m for _ in range(n)]
    back = [[-1] * m for _ in range(n)]
    best[0] = list(cost[0])
    for i in range(1, n):
        run, arg = math.inf, -1
        for j in range(m):
            if j > 0 and best[i - 1][j - 1] < run:
                run, arg = best[i - 1][j - 1], j - 1
            if arg >= 0:
                best[i][j], back[i][j] = run + cost[i][j], arg
    j = min(range(m), key=lambda k: best[n - 1][k])
    out = [0] * n
    for i in range(n - 1, -1, -1):
        out[i] = j
        j = back[i][j]
    return out


def objective(student, teacher, adapters, layer_map, encoded, tokens, targets, cfg, rematch=False):
    with torch.no_grad():
        t_logits, t_hidden = decode(teacher, tokens, encoded)
    s_logits, s_hidden = decode(student, tokens, encoded)
    mask = targets >= 0
    z, zt, y = s_logits[mask], t_logits[mask], targets[mask]
    ce = F.cross_entropy(z, y)
    T = cfg["temperature"]
    log_q, log_p = F.log_softmax(z / T, dim=-1), F.log_softmax(zt / T, dim=-1)
    kl = (log_p.exp() * (log_p - log_q)).sum(-1).mean() * T * T
    hid = torch.zeros(())
    if cfg["beta"] and layer_map:
        students = sorted(layer_map)
        if rematch:
            with torch.no_grad():
                cost = [[float(((adapters[str(i)](s_hidden[i][mask]) - t_hidden[j][mask]) ** 2).sum()) for j in range(len(t_hidden))]
                        for i in students]
            layer_map = dict(zip(students, increasing_assignment(cost)))
        for i in students:
            a, t = adapters[str(i)](s_hidden[i][mask]), t_hidden[layer_map[i]][mask]
            mse = ((a - t) ** 2).mean()
            hid = hid + (mse / (t ** 2).mean().clamp_min(1e-12) if cfg["normalize_hidden"] else mse)
        hid = hid / len(students)
    total = (1 - cfg["alpha"]) * ce + cfg["alpha"] * (kl + cfg["beta"] * hid)
    parts = dict(total=total.item(), cross_entropy=ce.item(), kl=kl.item(), hidden=hid.item(), positions=int(mask.sum()))
    return total, parts, layer_map


def rate(step, s, total_steps):
    """kdq's LearningRateSchedule: linear warm-up, cosine decay to 0 (step 0-based)."""
    peak, warm = s["learning_rate"], s["warmup_steps"]
    if step < warm:
        return peak * (step + 1) / warm
    progress = min(1.0, (step - warm) / max(1, total_steps - warm))
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


def decays(name):
    return not (name.endswith(".bias") or "layer_norm" in name)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", default=HERE, help="the recipe directory (default: this script's)")
    p.add_argument("--output", help="where the trained student goes (default: RECIPE/trained)")
    p.add_argument("--check", action="store_true", help="compare the first batch's loss with kdq's and exit")
    p.add_argument("--tolerance", type=float, default=1e-3, help="relative, for --check")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    from accelerate import Accelerator
    from transformers import WhisperForConditionalGeneration
    acc = Accelerator()
    recipe = json.load(open(os.path.join(a.recipe, "recipe.json")))
    s = recipe["settings"]
    cfg = dict(alpha=s["alpha"], beta=s["beta"], temperature=s["temperature"], normalize_hidden=s["normalize_hidden"])
    teacher = WhisperForConditionalGeneration.from_pretrained(os.path.join(a.recipe, "teacher"), torch_dtype=torch.float32).eval()
    student = WhisperForConditionalGeneration.from_pretrained(os.path.join(a.recipe, "student"), torch_dtype=torch.float32)
    clips = Clips(os.path.join(a.recipe, "clips.jsonl"), teacher.config.num_mel_bins)
    pad = teacher.config.eos_token_id
    layer_map = {int(k): int(v) for k, v in recipe["hidden_layer_map"]}
    width_s, width_t = student.config.d_model, teacher.config.d_model
    adapters = torch.nn.ModuleDict()
    for i in layer_map:
        lin = torch.nn.Linear(width_s, width_t)
        with torch.no_grad():
            lin.weight.zero_()
            lin.weight[: min(width_s, width_t), : min(width_s, width_t)] += torch.eye(min(width_s, width_t))
            lin.bias.zero_()
        adapters[str(i)] = lin

    # What trains; the planned encodings (frozen tensors take theirs once, trained ones in every forward).
    for n, q in student.named_parameters():
        trains = n.startswith("model.decoder.layers.") or n.startswith("model.decoder.layer_norm.")
        if s["train_embeddings"]:
            trains = trains or n in ("model.decoder.embed_tokens.weight", "model.decoder.embed_positions.weight")
        q.requires_grad_(trains)
    from torch.nn.utils import parametrize
    modules = dict(student.named_modules())
    params = dict(student.named_parameters())
    for name, encoding in recipe["quantization_aware"].items():
        hname = hf_name(name)
        module_name, attr = hname.rsplit(".", 1)
        if params[hname].requires_grad:
            parametrize.register_parametrization(modules[module_name], attr, FakeQuantization(encoding))
        else:
            with torch.no_grad():
                params[hname].copy_(ENCODERS[encoding](params[hname].detach()))

    named = [(n, q) for n, q in student.named_parameters() if q.requires_grad] + \
            [("adapter." + n, q) for n, q in adapters.named_parameters()]
    opt = torch.optim.AdamW([{"params": [q for n, q in named if decays(n)], "weight_decay": s["weight_decay"]},
                             {"params": [q for n, q in named if not decays(n)], "weight_decay": 0.0}],
                            lr=s["learning_rate"], betas=(0.9, 0.999), eps=1e-8)
    total_steps = recipe["total_steps"]
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: rate(k, s, total_steps) / s["learning_rate"])
    student, adapters, opt, sched = acc.prepare(student, adapters, opt, sched)
    teacher.to(acc.device)
    core = acc.unwrap_model(student)

    def loss_of(ids, rematch=False):
        tokens, targets = clips.batch(ids, pad)
        encoded = clips.encoded(ids, teacher.model.encoder, acc.device)
        return objective(core, teacher, acc.unwrap_model(adapters), layer_map, encoded, tokens.to(acc.device),
                         targets.to(acc.device), cfg, rematch)

    if a.check:
        first = recipe["first_batch"]
        with torch.no_grad():
            _, ours, _ = loss_of(first["clips"])
        theirs = first["loss"]
        keys = ["total", "cross_entropy", "kl"] + (["hidden"] if cfg["beta"] else [])
        worst = max(abs(ours[k] - theirs[k]) / max(abs(theirs[k]), 1e-12) for k in keys)
        print(json.dumps({"kdq": {k: theirs[k] for k in keys}, "recipe": {k: ours[k] for k in keys},
                          "worst_relative_difference": worst, "tolerance": a.tolerance}))
        sys.exit(0 if worst <= a.tolerance else 1)

    order = recipe["order"]
    validation = [c for c, v in clips.clips.items() if v["split"] == "validation"]
    batch = s["batch_size"]
    best, best_state, without_gain, step = math.inf, None, 0, 0
    started = time.time()
    for epoch, ids in enumerate(order):
        for start in range(0, len(ids), batch):
            share = ids[start:start + batch][acc.process_index::acc.num_processes]
            opt.zero_grad()
            loss, parts, new_map = loss_of(share, rematch=recipe["layer_matching"] == "dynamic")
            layer_map.update(new_map)
            acc.backward(loss)
            acc.clip_grad_norm_([q for _, q in named], s["max_gradient_norm"])
            opt.step()
            sched.step()
            step += 1
            if acc.is_main_process and step % 10 == 0:
                print(json.dumps(dict(step=step, epoch=epoch, seconds=round(time.time() - started, 1), **parts)), flush=True)
        if validation:
            with torch.no_grad():
                sums, n = 0.0, 0
                for start in range(0, len(validation), batch):
                    _, parts, _ = loss_of(validation[start:start + batch])
                    sums += parts["kl"] * parts["positions"]
                    n += parts["positions"]
            kl = sums / max(1, n)
            if acc.is_main_process:
                print(json.dumps(dict(epoch=epoch, step=step, validation_kl=kl)), flush=True)
            if kl < best:
                best, without_gain = kl, 0
                best_state = {k: v.detach().clone() for k, v in core.state_dict().items()}
            else:
                without_gain += 1
                if without_gain >= s["patience"]:
                    break
    if best_state is not None:
        core.load_state_dict(best_state)
    for name in recipe["quantization_aware"]:
        module_name, attr = hf_name(name).rsplit(".", 1)
        module = dict(core.named_modules())[module_name]
        if parametrize.is_parametrized(module, attr):
            parametrize.remove_parametrizations(module, attr, leave_parametrized=False)
    if acc.is_main_process:
        out = a.output or os.path.join(a.recipe, "trained")
        core.save_pretrained(out, safe_serialization=True)
        import shutil
        for name in os.listdir(os.path.join(a.recipe, "student")):  # the tokenizer and feature settings
            if not os.path.exists(os.path.join(out, name)):
                shutil.copy(os.path.join(a.recipe, "student", name), out)
        print(json.dumps(dict(saved=out, steps=step, seconds=round(time.time() - started, 1), best_validation_kl=best)))


if __name__ == "__main__":
    main()
