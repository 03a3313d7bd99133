#!/usr/bin/env python3
"""One distillation training step in PyTorch with openai-whisper's model (CPU, fp32): the
reference kdq's training core is checked against (Tests/KDQTrainTests/TorchAgreementTests).

The student keeps the teacher's decoder blocks --decoder-layers (renumbered from 0) and its whole
encoder; an adapter (identity, learned) maps student decoder layer i's residual stream to the
teacher's layer --hidden-map[i]. Objective: (1 - alpha)*CE + alpha*(T^2 KL(teacher||student at T)
+ beta*hidden), hidden = MSE / mean(teacher^2) averaged over pairs, on the positions with a
target. One AdamW step (biases and norms without weight decay) after clipping the global
gradient norm. Writes a safetensors golden: inputs (tokens, targets), the loss components, every
trained tensor's gradient (before clipping) and its value after the step.

  scripts/torch-train-step.py --model Tests/KDQFormatsTests/Fixtures/tiny-random.pt \
      --out Tests/KDQTrainTests/Fixtures/torch-step-golden.safetensors
  scripts/torch-train-step.py --model DIR_FROM_kdq_export_--to_hf --decoder-layers 0,5 \
      --hidden-map 0,5 --frozen-encoder --out models/base-student-golden.safetensors
--bench N times N steps instead (teacher logits in each step) and prints JSON.
"""
import argparse, json, math, os, sys, time

import torch
import torch.nn.functional as F
import whisper
from whisper.model import ModelDimensions as ModelDims, Whisper

HF_NAMES = [  # Hugging Face -> openai-whisper, applied in order
    ("model.encoder.embed_positions.weight", "encoder.positional_embedding"),
    ("model.decoder.embed_positions.weight", "decoder.positional_embedding"),
    ("model.decoder.embed_tokens.weight", "decoder.token_embedding.weight"),
    ("model.encoder.layer_norm.", "encoder.ln_post."), ("model.decoder.layer_norm.", "decoder.ln."),
    ("model.encoder.layers.", "encoder.blocks."), ("model.decoder.layers.", "decoder.blocks."),
    ("model.encoder.", "encoder."), (".self_attn_layer_norm.", ".attn_ln."), (".encoder_attn_layer_norm.", ".cross_attn_ln."),
    (".final_layer_norm.", ".mlp_ln."), (".self_attn.", ".attn."), (".encoder_attn.", ".cross_attn."),
    (".q_proj.", ".query."), (".k_proj.", ".key."), (".v_proj.", ".value."), (".out_proj.", ".out."),
    (".fc1.", ".mlp.0."), (".fc2.", ".mlp.2."),
]


def load(path):
    """An openai-whisper model from a .pt checkpoint or a Hugging Face directory (kdq export --to hf)."""
    if os.path.isdir(path):
        from safetensors.torch import load_file
        cfg = json.load(open(os.path.join(path, "config.json")))
        dims = ModelDims(n_mels=cfg["num_mel_bins"], n_audio_ctx=cfg["max_source_positions"], n_audio_state=cfg["d_model"],
                         n_audio_head=cfg["encoder_attention_heads"], n_audio_layer=cfg["encoder_layers"],
                         n_vocab=cfg["vocab_size"], n_text_ctx=cfg["max_target_positions"], n_text_state=cfg["d_model"],
                         n_text_head=cfg["decoder_attention_heads"], n_text_layer=cfg["decoder_layers"])
        state = {}
        for name, t in load_file(os.path.join(path, "model.safetensors")).items():
            if name == "proj_out.weight":
                continue
            for a, b in HF_NAMES:
                name = name.replace(a, b)
            state[name] = t.float()
    else:
        ck = torch.load(path, map_location="cpu")
        dims = ModelDims(**ck["dims"])
        state = {k: v.float() for k, v in ck["model_state_dict"].items()}
    model = Whisper(dims)
    model.load_state_dict(state, strict=False)
    return model.float().eval(), dims, state


def pruned(state, dims, layers):
    """A student keeping decoder blocks `layers`, renumbered."""
    d = dict(vars(dims))
    d["n_text_layer"] = len(layers)
    out = {}
    for name, t in state.items():
        if name.startswith("decoder.blocks."):
            i = int(name.split(".")[2])
            if i not in layers:
                continue
            name = "decoder.blocks.%d.%s" % (layers.index(i), name.split(".", 3)[3])
        out[name] = t.clone()
    model = Whisper(ModelDims(**d))
    model.load_state_dict(out, strict=False)
    return model.float()


def inputs(dims, batch, length):
    """The batch both implementations build: a closed-form log-mel, tokens and targets."""
    frames = 2 * dims.n_audio_ctx
    mel = torch.tensor([[[0.8 * math.sin(0.05 * (c + 1) * (b + 1) + 0.0021 * t) for t in range(frames)]
                         for c in range(dims.n_mels)] for b in range(batch)], dtype=torch.float32)
    tokens = torch.tensor([[(37 * b + 101 * t + 5) % dims.n_vocab for t in range(length)] for b in range(batch)])
    targets = torch.cat([tokens[:, 1:], (tokens[:, -1:] * 7 + 3) % dims.n_vocab], dim=1).clone()
    targets[:, 0] = -1               # prompt position
    if batch > 1:
        targets[1, length - 2:] = -1  # padding at the end of the second sequence
    return mel, tokens, targets


def decode(model, tokens, xa):
    """Normed final hidden state and the residual stream after every block."""
    dec = model.decoder
    x = dec.token_embedding(tokens) + dec.positional_embedding[: tokens.shape[1]]
    hidden = []
    for block in dec.blocks:
        x = block(x, xa, mask=dec.mask)
        hidden.append(x)
    return dec.ln(x), hidden


def objective(student, teacher, adapters, mel, tokens, targets, cfg, encoder_out=None):
    with torch.no_grad():
        t_xa = encoder_out if encoder_out is not None else teacher.encoder(mel)
        t_out, t_hidden = decode(teacher, tokens, t_xa)
        t_logits = t_out @ teacher.decoder.token_embedding.weight.T
    s_xa = encoder_out if encoder_out is not None else student.encoder(mel)
    s_out, s_hidden = decode(student, tokens, s_xa)
    logits = s_out @ student.decoder.token_embedding.weight.T
    mask = targets >= 0
    z, zt, y = logits[mask], t_logits[mask], targets[mask]
    ce = F.cross_entropy(z, y)
    T = cfg["temperature"]
    log_q = F.log_softmax(z / T, dim=-1)
    log_p = F.log_softmax(zt / T, dim=-1)
    kl = (log_p.exp() * (log_p - log_q)).sum(-1).mean() * T * T
    hid = torch.zeros(())
    for i, j in enumerate(cfg["hidden_map"]):
        a = adapters[i](s_hidden[i][mask])
        t = t_hidden[j][mask]
        mse = ((a - t) ** 2).mean()
        hid = hid + (mse / (t ** 2).mean() if cfg["normalize"] else mse)
    hid = hid / max(1, len(cfg["hidden_map"]))
    a_, b_ = cfg["alpha"], cfg["beta"]
    total = (1 - a_) * ce + a_ * (kl + b_ * hid)
    return total, ce, kl, hid


def decays(name):
    return not (name.endswith(".bias") or "_ln." in name or ".ln." in name or "ln_post" in name)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--decoder-layers", default="1")
    p.add_argument("--hidden-map", default="1", help="teacher layer for each student layer, comma-separated")
    p.add_argument("--frozen-encoder", action="store_true", help="encoder and its output shared and frozen (the paper's setting)")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--length", type=int, default=8)
    p.add_argument("--alpha", type=float, default=0.9)
    p.add_argument("--beta", type=float, default=0.5)
    p.add_argument("--temperature", type=float, default=2.0)
    p.add_argument("--no-normalize", action="store_true")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--max-norm", type=float, default=1.0)
    p.add_argument("--adam-eps", type=float, default=1e-8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bench", type=int, default=0)
    p.add_argument("--out")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    teacher, dims, state = load(a.model)
    layers = [int(x) for x in a.decoder_layers.split(",")]
    student = pruned(state, dims, layers)
    cfg = dict(alpha=a.alpha, beta=a.beta, temperature=a.temperature, normalize=not a.no_normalize,
               hidden_map=[int(x) for x in a.hidden_map.split(",")] if a.beta else [])
    w = dims.n_text_state
    adapters = torch.nn.ModuleList()
    for _ in cfg["hidden_map"]:
        lin = torch.nn.Linear(w, w)
        with torch.no_grad():
            lin.weight.copy_(torch.eye(w))
            lin.bias.zero_()
        adapters.append(lin)
    params = {n: q for n, q in student.named_parameters()}
    params.update({"adapter.%d.%s" % (i, n): q for i, ad in enumerate(adapters) for n, q in ad.named_parameters()})
    if a.frozen_encoder:
        for n in list(params):
            if n.startswith("encoder."):
                params[n].requires_grad_(False)
                del params[n]
    opt = torch.optim.AdamW([{"params": [q for n, q in params.items() if decays(n)], "weight_decay": a.weight_decay},
                             {"params": [q for n, q in params.items() if not decays(n)], "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.999), eps=a.adam_eps)
    mel, tokens, targets = inputs(dims, a.batch, a.length)
    encoder_out = None
    if a.frozen_encoder:
        with torch.no_grad():
            encoder_out = teacher.encoder(mel)

    def step():
        opt.zero_grad(set_to_none=False)
        total, ce, kl, hid = objective(student, teacher, adapters, mel, tokens, targets, cfg, encoder_out)
        total.backward()
        grads = {n: q.grad.detach().clone() for n, q in params.items()} if not a.bench else None
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), a.max_norm)
        opt.step()
        return total, ce, kl, hid, grads, norm

    if a.bench:
        import resource
        step()  # warm-up
        t0 = time.perf_counter()
        for _ in range(a.bench):
            step()
        dt = (time.perf_counter() - t0) / a.bench
        print(json.dumps({"seconds_per_step": dt, "threads": a.threads, "batch": a.batch, "length": a.length,
                          "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
        return
    total, ce, kl, hid, grads, norm = step()
    print("loss total %.6f ce %.6f kl %.6f hidden %.6f, gradient norm %.6f" % (total.item(), ce.item(), kl.item(), hid.item(), norm.item()), file=sys.stderr)
    out = {"tokens": tokens.float(), "targets": targets.float(),
           "loss": torch.tensor([total.item(), ce.item(), kl.item(), hid.item()], dtype=torch.float32)}
    if encoder_out is not None:
        out["encoder_out"] = encoder_out.contiguous()  # the frozen encoder's output: an input of the step
    for n, q in params.items():
        out["grad." + n] = grads[n].contiguous()
        out["updated." + n] = q.detach().contiguous()
    meta = {k: str(v) for k, v in dict(alpha=a.alpha, beta=a.beta, temperature=a.temperature, normalize=int(not a.no_normalize),
                                           lr=a.lr, weight_decay=a.weight_decay, max_norm=a.max_norm, eps=a.adam_eps, batch=a.batch, length=a.length,
                                           decoder_layers=a.decoder_layers, hidden_map=a.hidden_map,
                                           frozen_encoder=int(a.frozen_encoder)).items()}
    from safetensors.torch import save_file
    save_file(out, a.out, metadata=meta)
    print("wrote %s (%d trained tensors)" % (a.out, len(params)), file=sys.stderr)


if __name__ == "__main__":
    main()
