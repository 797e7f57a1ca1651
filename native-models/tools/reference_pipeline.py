#!/usr/bin/env python3
"""Independent numpy reference for the tiny model folders written by make_tiny_models.py.

It reads the weights from the .onnx files (never from the generator) and recomputes each graph
with plain numpy, then runs the text -> latents -> image loop the way diffusers does
(shared/reference/local-diffusion.md section 3; scheduler math copied from
shared/data/scheduler-vectors.py, which is the spec). CI feeds the same ids and noise to the
TypeScript pipeline and to this script and compares.

Usage: /usr/bin/python3 native-models/tools/reference_pipeline.py < request.json > result.json

Pipeline request:
  {"model_dir": str, "input_ids": [[77 ints], ...], "input_ids_2": [[...]] (SDXL; default input_ids),
   "noise": [floats], "height": int, "width": int, "steps": int,
   "scheduler": "euler" | "euler_ancestral" | "lcm" (or the diffusers class name),
   "guidance_scale": float (LCM only; default 8.5)}
  `noise` is every unit-Gaussian draw of one generator in the order the pipeline makes them:
  the initial latents [B,4,H/8,W/8], then one latents-sized draw per EulerAncestral step
  (including the last), or per LCM step except the last.
Pipeline result:
  {"image": [B*H*W*3 floats in [0,1], HWC], "image_shape": [B,H,W,3],
   "latents": [...], "latents_shape": [B,4,h,w]  (what was decoded, before / scaling_factor),
   "timesteps": [...], "family": str}

Component request (one session.run):
  {"model_dir": str, "component": "unet" | "text_encoder" | ..., 
   "inputs": {name: {"dtype": "float32"|"float16"|"int32"|"int64", "dims": [...], "data": [...]}},
   "outputs": [names] (optional; default all)}
Component result: {"outputs": {name: {"dims": [...], "data": [...]}}}

A JSON array of requests gives an array of results (one process for many checks).

Precision: graphs compute in float32 (fp16 exports cast at the edges), so this does too. The
scheduler works in float64 - what JS numbers give - and latents are stored as float32 between
steps, as a Float32Array would.
"""

import json
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

SCHEDULER_ALIASES = {
    "euler": "euler", "EulerDiscreteScheduler": "euler",
    "euler_ancestral": "euler_ancestral", "EulerAncestralDiscreteScheduler": "euler_ancestral",
    "lcm": "lcm", "LCMScheduler": "lcm",
}
ONNX_DTYPES = {TensorProto.FLOAT: "float32", TensorProto.FLOAT16: "float16",
               TensorProto.INT32: "int32", TensorProto.INT64: "int64"}


# ---------------------------------------------------------------------------
# Reading the models
# ---------------------------------------------------------------------------

class Component:
    """Weights and I/O signature of one exported model, read from its .onnx file."""

    def __init__(self, model_dir, name):
        self.path = os.path.join(model_dir, name, "model.onnx")
        model = onnx.load(self.path)  # also loads model.onnx_data when the weights live outside
        self.weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        self.inputs = {i.name: _signature(i) for i in model.graph.input}
        self.outputs = {o.name: _signature(o) for o in model.graph.output}
        self.output_order = [o.name for o in model.graph.output]
        self.fp16 = any(d == "float16" for d, _ in self.outputs.values())

    def w(self, name):
        return self.weights[name].astype(np.float32)

    def feed(self, name, value):
        """Cast an input to the dtype the graph declares, then to the float32 it computes in."""
        dtype = self.inputs[name][0]
        arr = np.asarray(value).astype(dtype)
        return arr.astype(np.float32) if dtype in ("float16", "float32") else arr

    def emit(self, value):
        """Outputs leave the graph in its float dtype."""
        return value.astype(np.float16).astype(np.float32) if self.fp16 else value.astype(np.float32)

    def count(self, pattern):
        k = 0
        while pattern % k in self.weights:
            k += 1
        return k


def _signature(value_info):
    t = value_info.type.tensor_type
    dims = [d.dim_param if d.dim_param else d.dim_value for d in t.shape.dim]
    return ONNX_DTYPES[t.elem_type], dims


def silu(x):
    return x * (1.0 / (1.0 + np.exp(-x)))


def conv1x1(x, w, b):
    return (np.einsum("oc,bchw->bohw", w[:, :, 0, 0], x) + b[None, :, None, None]).astype(np.float32)


def sinusoidal(x_col, freqs):
    arg = (x_col * freqs).astype(np.float32)
    return np.concatenate([np.cos(arg), np.sin(arg)], axis=-1)


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------------------
# Forward passes (the math each tiny graph implements; see make_tiny_models.py docstrings)
# ---------------------------------------------------------------------------

def text_encoder_forward(c, input_ids):
    ids = c.feed("input_ids", input_ids)
    h = c.w("embeddings.token_embedding.weight")[ids] @ c.w("embeddings.token_projection.weight")
    h = h + c.w("embeddings.position_embedding.weight")[: ids.shape[1]]
    states = [h]
    for k in range(c.count("encoder.layers.%d.weight")):
        mixed = h + h.mean(axis=1, keepdims=True)
        h = h + np.tanh(mixed @ c.w("encoder.layers.%d.weight" % k) + c.w("encoder.layers.%d.bias" % k))
        states.append(h)
    proj = c.w("hidden_states_projection.weight")
    y = h @ proj
    centred = y - y.mean(axis=-1, keepdims=True)
    var = (centred * centred).mean(axis=-1, keepdims=True)
    last = centred / np.sqrt(var + c.w("final_layer_norm.epsilon")) * c.w("final_layer_norm.weight") + c.w("final_layer_norm.bias")
    out = {"last_hidden_state": last}
    if "text_embeds" in c.outputs:
        out["text_embeds"] = h.mean(axis=1) @ c.w("text_projection.weight")
    if "pooler_output" in c.outputs:
        out["pooler_output"] = last.mean(axis=1)
    for k, state in enumerate(states):
        if "hidden_states.%d" % k in c.outputs:
            out["hidden_states.%d" % k] = state @ proj
    return {name: c.emit(v) for name, v in out.items()}


def unet_forward(c, sample, timestep, encoder_hidden_states, text_embeds=None, time_ids=None, timestep_cond=None):
    x = c.feed("sample", sample)
    t = c.feed("timestep", timestep).astype(np.float32).reshape(-1, 1)
    ehs = c.feed("encoder_hidden_states", encoder_hidden_states)
    t_proj = sinusoidal(t, c.w("time_proj.freqs"))
    if "timestep_cond" in c.inputs:
        t_proj = t_proj + c.feed("timestep_cond", timestep_cond) @ c.w("time_embedding.cond_proj.weight")
    temb = t_proj @ c.w("time_embedding.linear_1.weight") + c.w("time_embedding.linear_1.bias")
    temb = silu(temb) @ c.w("time_embedding.linear_2.weight") + c.w("time_embedding.linear_2.bias")
    if "text_embeds" in c.inputs:
        ids = c.feed("time_ids", time_ids)
        ids_proj = sinusoidal(ids.reshape(-1, 1), c.w("add_time_proj.freqs")).reshape(ids.shape[0], -1)
        add_in = np.concatenate([c.feed("text_embeds", text_embeds), ids_proj], axis=-1)
        aug = add_in @ c.w("add_embedding.linear_1.weight") + c.w("add_embedding.linear_1.bias")
        temb = temb + silu(aug) @ c.w("add_embedding.linear_2.weight") + c.w("add_embedding.linear_2.bias")

    h = conv1x1(x, c.w("conv_in.weight"), c.w("conv_in.bias"))
    b, d, hh, ww = h.shape
    scale = c.w("attention_scale")
    for k in range(c.count("blocks.%d.conv.weight")):
        p = "blocks.%d" % k
        h = h + conv1x1(silu(h + temb[:, :, None, None]), c.w(p + ".conv.weight"), c.w(p + ".conv.bias"))
        tokens = h.reshape(b, d, hh * ww).transpose(0, 2, 1)
        q = tokens @ c.w(p + ".attn.to_q.weight")
        key = ehs @ c.w(p + ".attn.to_k.weight")
        val = ehs @ c.w(p + ".attn.to_v.weight")
        attended = softmax((q @ key.transpose(0, 2, 1)) * scale) @ val
        tokens = tokens + attended @ c.w(p + ".attn.to_out.weight") + c.w(p + ".attn.to_out.bias")
        h = tokens.transpose(0, 2, 1).reshape(b, d, hh, ww)
    eps = conv1x1(silu(h), c.w("conv_out.weight"), c.w("conv_out.bias"))
    return {"out_sample": c.emit(x + eps)}


def vae_trunk(c, x):
    h = np.tanh(conv1x1(x, c.w("conv_in.weight"), c.w("conv_in.bias")))
    ctx = h.mean(axis=(2, 3), keepdims=True)
    return h + np.tanh(conv1x1(ctx, c.w("mid.weight"), c.w("mid.bias")))


def depth_to_space_dcr(x, bs):
    b, ch, hh, ww = x.shape
    tmp = x.reshape(b, bs, bs, ch // (bs * bs), hh, ww).transpose(0, 3, 4, 1, 5, 2)
    return tmp.reshape(b, ch // (bs * bs), hh * bs, ww * bs)


def space_to_depth(x, bs):
    b, ch, hh, ww = x.shape
    tmp = x.reshape(b, ch, hh // bs, bs, ww // bs, bs).transpose(0, 3, 5, 1, 2, 4)
    return tmp.reshape(b, ch * bs * bs, hh // bs, ww // bs)


def vae_decoder_forward(c, latent_sample):
    z = conv1x1(c.feed("latent_sample", latent_sample), c.w("post_quant_conv.weight"), c.w("post_quant_conv.bias"))
    h = vae_trunk(c, z)
    bs = int(c.weights["upsample_scales"][-1])
    detail = depth_to_space_dcr(conv1x1(h, c.w("conv_out.weight"), c.w("conv_out.bias")), bs)
    base = conv1x1(h, c.w("to_rgb.weight"), c.w("to_rgb.bias")).repeat(bs, axis=2).repeat(bs, axis=3)
    return {"sample": c.emit(np.tanh(detail + base))}


def vae_encoder_forward(c, sample):
    h = vae_trunk(c, space_to_depth(c.feed("sample", sample), 8))
    moments = conv1x1(h, c.w("quant_conv.weight"), c.w("quant_conv.bias"))
    if "latent_parameters" in c.outputs:
        return {"latent_parameters": c.emit(moments)}
    return {"latent_sample": c.emit(moments[:, :4])}


FORWARDS = {
    "text_encoder": text_encoder_forward,
    "text_encoder_2": text_encoder_forward,
    "unet": unet_forward,
    "vae_decoder": vae_decoder_forward,
    "vae_encoder": vae_encoder_forward,
}


# ---------------------------------------------------------------------------
# Schedulers (scheduler-vectors.py, float64)
# ---------------------------------------------------------------------------

def alphas_cumprod(cfg):
    n = cfg.get("num_train_timesteps", 1000)
    betas = np.linspace(cfg.get("beta_start", 0.00085) ** 0.5, cfg.get("beta_end", 0.012) ** 0.5, n, dtype=np.float64) ** 2
    return np.cumprod(1.0 - betas)


def euler_schedule(n, cfg):
    """Timesteps, sigmas (n+1, trailing 0) and init_noise_sigma of Euler / Euler Ancestral."""
    acp = alphas_cumprod(cfg)
    train = len(acp)
    spacing = cfg.get("timestep_spacing", "linspace")  # diffusers' default for Euler
    if spacing == "linspace":
        ts = np.linspace(0, train - 1, n, dtype=np.float32)[::-1].copy()
    elif spacing == "leading":
        ts = (np.arange(0, n) * (train // n)).round()[::-1].copy().astype(np.float32) + cfg.get("steps_offset", 0)
    elif spacing == "trailing":
        ts = np.arange(train, 0, -train / n).round().copy().astype(np.float32) - 1
    else:
        raise ValueError("unsupported timestep_spacing %r" % spacing)
    table = np.sqrt((1.0 - acp) / acp)
    sig = np.concatenate([np.interp(ts.astype(np.float64), np.arange(train), table), [0.0]])
    smax = float(np.max(sig))
    init = smax if spacing in ("linspace", "trailing") else math.sqrt(smax * smax + 1.0)
    return ts, sig, init


def lcm_timesteps(n, cfg):
    train = cfg.get("num_train_timesteps", 1000)
    original = cfg.get("original_inference_steps", 50)
    if n > original:
        raise ValueError("LCM steps (%d) > original_inference_steps (%d)" % (n, original))
    origin = (np.arange(1, original + 1) * (train // original) - 1)[::-1].copy()
    idx = np.floor(np.linspace(0, len(origin), num=n, endpoint=False)).astype(np.int64)
    return origin[idx].astype(np.int64)


def lcm_guidance_embedding(guidance_scale, dim):
    w = (guidance_scale - 1.0) * 1000.0
    half = dim // 2
    freqs = np.exp(np.arange(half, dtype=np.float64) * -(math.log(10000.0) / (half - 1)))
    emb = np.concatenate([np.sin(w * freqs), np.cos(w * freqs)])
    return np.concatenate([emb, [0.0]]) if dim % 2 else emb


def f32(x):
    return np.asarray(x, dtype=np.float64).astype(np.float32)


def euler_loop(model, noise, draws, steps, cfg, ancestral, store=f32):
    """Euler / Euler Ancestral text-to-image loop. `model(x_in, t)` returns eps; `draws` yields
    the per-step unit noise (ancestral only). Returns (latents, timesteps)."""
    ts, sig, init = euler_schedule(steps, cfg)
    x = store(np.asarray(noise, dtype=np.float64) * init)
    for i, t in enumerate(ts):
        s, s_next = float(sig[i]), float(sig[i + 1])
        x64 = np.asarray(x, dtype=np.float64)
        eps = np.asarray(model(store(x64 / math.sqrt(s * s + 1.0)), float(t)), dtype=np.float64)
        x0 = x64 - s * eps
        derivative = (x64 - x0) / s
        if ancestral:
            s_up = math.sqrt(s_next ** 2 * (s ** 2 - s_next ** 2) / s ** 2)
            s_down = math.sqrt(s_next ** 2 - s_up ** 2)
            x = store(x64 + derivative * (s_down - s) + np.asarray(next(draws), dtype=np.float64) * s_up)
        else:
            x = store(x64 + derivative * (s_next - s))
    return x, [float(t) for t in ts]


def lcm_loop(model, noise, draws, steps, cfg, store=f32):
    """LCM loop; returns the last `denoised` (what diffusers decodes) and the timesteps."""
    acp = alphas_cumprod(cfg)
    scaling = cfg.get("timestep_scaling", 10.0)
    final_acp = 1.0 if cfg.get("set_alpha_to_one", True) else float(acp[0])
    ts = lcm_timesteps(steps, cfg)
    x = store(noise)  # init_noise_sigma = 1
    denoised = x
    for i, t in enumerate(ts):
        t = int(t)
        prev_t = int(ts[i + 1]) if i + 1 < len(ts) else t
        x64 = np.asarray(x, dtype=np.float64)
        eps = np.asarray(model(x, t), dtype=np.float64)  # scale_model_input is the identity
        a_t = float(acp[t])
        a_prev = float(acp[prev_t]) if prev_t >= 0 else final_acp
        scaled = t * scaling
        c_skip = 0.25 / (scaled ** 2 + 0.25)
        c_out = scaled / (scaled ** 2 + 0.25) ** 0.5
        x0 = (x64 - math.sqrt(1.0 - a_t) * eps) / math.sqrt(a_t)
        den64 = c_out * x0 + c_skip * x64
        denoised = store(den64)
        if i + 1 < len(ts):
            x = store(math.sqrt(a_prev) * den64 + math.sqrt(1.0 - a_prev) * np.asarray(next(draws), dtype=np.float64))
        else:
            x = denoised
    return denoised, [int(t) for t in ts]


# ---------------------------------------------------------------------------
# Pipeline
# ---------------------------------------------------------------------------

def read_json(path):
    with open(path) as fh:
        return json.load(fh)


def run_pipeline(req):
    root = req["model_dir"]
    unet_cfg = read_json(os.path.join(root, "unet", "config.json"))
    sched_cfg = read_json(os.path.join(root, "scheduler", "scheduler_config.json"))
    vae_cfg = read_json(os.path.join(root, "vae_decoder", "config.json"))
    scaling_factor = vae_cfg.get("scaling_factor", 0.18215)  # AutoencoderKL's default when absent
    scheduler = SCHEDULER_ALIASES.get(req["scheduler"])
    if scheduler is None:
        raise ValueError("scheduler must be one of %s" % sorted(SCHEDULER_ALIASES))
    height, width, steps = int(req["height"]), int(req["width"]), int(req["steps"])
    if height % 8 or width % 8:
        raise ValueError("height and width must be multiples of 8")
    ids = np.asarray(req["input_ids"], dtype=np.int64)
    batch = ids.shape[0]
    sdxl = unet_cfg.get("addition_embed_type") == "text_time"
    lcm = unet_cfg.get("time_cond_proj_dim") is not None
    if lcm != (scheduler == "lcm"):
        raise ValueError("the LCM scheduler goes with (and only with) an LCM UNet (time_cond_proj_dim set)")

    unet = Component(root, "unet")
    extra = {}
    enc1 = Component(root, "text_encoder")
    enc1_out = text_encoder_forward(enc1, ids)
    if sdxl:
        enc2 = Component(root, "text_encoder_2")
        ids2 = np.asarray(req.get("input_ids_2", req["input_ids"]), dtype=np.int64)
        enc2_out = text_encoder_forward(enc2, ids2)
        # hidden_states[-2]: the penultimate layer, without the final LayerNorm (section 3.2)
        h1 = enc1_out["hidden_states.%d" % (enc1.count("encoder.layers.%d.weight") - 1)]
        h2 = enc2_out["hidden_states.%d" % (enc2.count("encoder.layers.%d.weight") - 1)]
        cond = np.concatenate([h1, h2], axis=-1)
        extra["text_embeds"] = enc2_out["text_embeds"]
        extra["time_ids"] = np.tile(np.asarray([height, width, 0, 0, height, width], dtype=np.float32), (batch, 1))
    else:
        cond = enc1_out["last_hidden_state"]
    if lcm:
        w_emb = lcm_guidance_embedding(float(req.get("guidance_scale", 8.5)), int(unet_cfg["time_cond_proj_dim"]))
        extra["timestep_cond"] = np.tile(f32(w_emb), (batch, 1))
    elif float(req.get("guidance_scale", 0.0)) > 1.0:
        raise ValueError("classifier-free guidance is not implemented in this reference (turbo loops run without it)")

    shape = (batch, 4, height // 8, width // 8)
    n = int(np.prod(shape))
    extra_draws = {"euler": 0, "euler_ancestral": steps, "lcm": steps - 1}[scheduler]
    noise = np.asarray(req["noise"], dtype=np.float32)
    if noise.size != n * (1 + extra_draws):
        raise ValueError("noise must hold %d values (%d draws of %s), got %d"
                         % (n * (1 + extra_draws), 1 + extra_draws, list(shape), noise.size))
    draws_all = noise.reshape(1 + extra_draws, *shape)
    draws = iter(draws_all[1:])

    timestep_dtype, timestep_dims = unet.inputs["timestep"]

    def model(x_in, t):
        if timestep_dtype == "int64" and t != int(t):
            raise ValueError("this UNet takes int64 timesteps but the schedule has t=%r" % t)
        tv = np.asarray(t) if len(timestep_dims) == 0 else np.full((batch,), t)
        return unet_forward(unet, x_in, tv, cond, **extra)["out_sample"]

    if scheduler == "lcm":
        latents, ts = lcm_loop(model, draws_all[0], draws, steps, sched_cfg)
    else:
        latents, ts = euler_loop(model, draws_all[0], draws, steps, sched_cfg, scheduler == "euler_ancestral")

    decoded = vae_decoder_forward(Component(root, "vae_decoder"), f32(np.asarray(latents, dtype=np.float64) / scaling_factor))["sample"]
    image = np.clip(decoded.astype(np.float64) / 2.0 + 0.5, 0.0, 1.0).transpose(0, 2, 3, 1)
    return {
        "family": "sdxl" if sdxl else ("lcm" if lcm else "sd"),
        "timesteps": ts,
        "latents": [float(v) for v in np.asarray(latents, dtype=np.float32).ravel()],
        "latents_shape": list(shape),
        "image": [float(v) for v in image.astype(np.float32).ravel()],
        "image_shape": list(image.shape),
    }


def run_component(req):
    name = req["component"]
    if name not in FORWARDS:
        raise ValueError("component must be one of %s" % sorted(FORWARDS))
    c = Component(req["model_dir"], name)
    feeds = {}
    for key, spec in req["inputs"].items():
        if key not in c.inputs:
            raise ValueError("%s has no input %r (inputs: %s)" % (c.path, key, sorted(c.inputs)))
        feeds[key] = np.asarray(spec["data"], dtype=np.float64).reshape(spec["dims"]).astype(spec["dtype"])
    if name.startswith("text_encoder"):
        out = text_encoder_forward(c, feeds["input_ids"])
    elif name == "unet":
        out = unet_forward(c, **feeds)
    elif name == "vae_decoder":
        out = vae_decoder_forward(c, feeds["latent_sample"])
    else:
        out = vae_encoder_forward(c, feeds["sample"])
    wanted = req.get("outputs") or c.output_order
    return {"outputs": {k: {"dims": list(out[k].shape), "data": [float(v) for v in out[k].ravel()]} for k in wanted}}


def handle(req):
    return run_component(req) if "component" in req else run_pipeline(req)


def main():
    req = json.load(sys.stdin)
    result = [handle(r) for r in req] if isinstance(req, list) else handle(req)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
