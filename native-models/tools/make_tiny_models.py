#!/usr/bin/env python3
"""Write tiny random-weight ONNX model folders shaped like real Stable Diffusion exports.

Usage:
    /usr/bin/python3 native-models/tools/make_tiny_models.py <outdir>            # test families + variants
    /usr/bin/python3 native-models/tools/make_tiny_models.py <outdir> --medium   # only sd-turbo-medium (benchmark)

Needs numpy and onnx >= 1.12 (Debian python3-onnx); no onnxruntime, no network, no weights.

Why: the TypeScript pipeline must be tested against folders that look exactly like what users
download or export (docs: shared/reference/local-diffusion.md sections 1 and 2) - same folder
layout, same config keys, same tensor names, dtypes, ranks and symbolic dims - but small and
fast enough for CI. The graphs are random and meaningless as images; they are built from a few
simple ops so that `reference_pipeline.py` can recompute them in numpy, and every output depends
on every input, so a wiring mistake (wrong timestep, wrong text state, swapped inputs) shows up.

Which exporter each folder mirrors (section 2.1 of the reference):
  sd15, lcm, sd-turbo, sdxl, sdxl-turbo   Optimum >= 1.24 / optimum-onnx: input_ids int64,
                                          timestep float scalar [], vae_encoder -> latent_parameters
  sd-turbo-fp16                           the same export in fp16: every float tensor is float16
  sd15-int32-ids                          Optimum <= 1.22: input_ids int32, timestep int64 [B],
                                          vae_encoder -> latent_sample (4 channels)
  sd-turbo-rank1-timestep                 timestep float32 [B] (diffusers' legacy ONNX script,
                                          ORT demo engines); otherwise like sd-turbo
  sd-turbo-external-data                  sd-turbo with the UNet weights in unet/model.onnx_data
  corrupt                                 sd-turbo with unet/model.onnx truncated
  sd-turbo-medium (--medium)              sd-turbo with a UNet wide enough to take tens of ms

Determinism: weights come from numpy generators seeded by (family, component), protobuf
serialisation is deterministic and JSON is written with sorted keys, so reruns give identical
bytes. Variants reuse the weights of their base family, so e.g. sd-turbo-rank1-timestep fed
timestep [t] must give exactly what sd-turbo gives for the scalar t.
"""

import argparse
import json
import os
import shutil
import sys
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17  # onnx 1.12 tops out at 17; ReduceMean still takes `axes` as an attribute here

# Dims the pipeline depends on: these are the real values.
VOCAB_SIZE = 49408
SEQ_LEN = 77
LATENT_CHANNELS = 4
VAE_SCALE = 8
SDXL_POOLED_DIM = 1280
SDXL_TIME_IDS = 6
SDXL_ADD_TIME_EMBED_DIM = 256  # per time id; 6 * 256 + 1280 = 2816 = projection_class_embeddings_input_dim
LCM_TIME_COND_DIM = 256

# Internal widths: tiny, because nothing outside the graph can see them.
TOKEN_EMBED_DIM = 4
TEXT_WIDTH = 32
TIME_PROJ_DIM = 32
UNET_WIDTH = 32
VAE_WIDTH = 16

MEDIUM_UNET_WIDTH = 256
MEDIUM_UNET_BLOCKS = 3

# The shared reference data sits beside the repository (../shared), as the TypeScript tests expect.
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_TOKENIZER_DIR = os.path.join(os.path.dirname(REPO_ROOT), "shared", "data", "clip-tokenizer")

F32 = TensorProto.FLOAT
F16 = TensorProto.FLOAT16
I32 = TensorProto.INT32
I64 = TensorProto.INT64


# ---------------------------------------------------------------------------
# Graph building
# ---------------------------------------------------------------------------

class Graph:
    """Collects nodes and initialisers. All arithmetic happens in float32; an fp16 graph stores
    fp16 weights and has fp16 inputs/outputs, with Casts at the edges - ORT's CPU provider lacks
    fp16 kernels for several of these ops, and the numpy reference can mirror this exactly."""

    def __init__(self, name, fp16):
        self.name = name
        self.fp16 = fp16
        self.nodes = []
        self.initializers = []
        self.inputs = []
        self.outputs = []
        self._count = 0

    def _fresh(self, hint):
        self._count += 1
        return "%s_%d" % (hint, self._count)

    def op(self, op_type, inputs, hint=None, **attrs):
        out = self._fresh(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out + "_node", **attrs))
        return out

    def weight(self, name, array):
        """A float initialiser, stored in the graph's float dtype, returned as a float32 value."""
        array = np.asarray(array, dtype=np.float32)
        if not self.fp16:
            self.initializers.append(numpy_helper.from_array(array, name))
            return name
        self.initializers.append(numpy_helper.from_array(array.astype(np.float16), name))
        return self.op("Cast", [name], hint=name + "_f32", to=F32)

    def float32_const(self, name, values):
        """A float32 constant that is not a weight (epsilon, scales): never stored as fp16."""
        self.initializers.append(numpy_helper.from_array(np.asarray(values, dtype=np.float32), name))
        return name

    def int64_const(self, name, values):
        self.initializers.append(numpy_helper.from_array(np.asarray(values, dtype=np.int64), name))
        return name

    def float_input(self, name, dims):
        self.inputs.append(helper.make_tensor_value_info(name, F16 if self.fp16 else F32, dims))
        return self.op("Cast", [name], hint=name + "_f32", to=F32) if self.fp16 else name

    def raw_input(self, name, elem_type, dims):
        self.inputs.append(helper.make_tensor_value_info(name, elem_type, dims))
        return name

    def float_output(self, name, value, dims):
        if self.fp16:
            self.nodes.append(helper.make_node("Cast", [value], [name], name=name + "_cast", to=F16))
        else:
            self.nodes.append(helper.make_node("Identity", [value], [name], name=name + "_identity"))
        self.outputs.append(helper.make_tensor_value_info(name, F16 if self.fp16 else F32, dims))

    # small layers -------------------------------------------------------

    def linear(self, x, prefix, w, b=None):
        y = self.op("MatMul", [x, self.weight(prefix + ".weight", w)])
        return self.op("Add", [y, self.weight(prefix + ".bias", b)]) if b is not None else y

    def conv1x1(self, x, prefix, w, b):
        return self.op("Conv", [x, self.weight(prefix + ".weight", w), self.weight(prefix + ".bias", b)])

    def silu(self, x):
        return self.op("Mul", [x, self.op("Sigmoid", [x])])

    def sinusoidal(self, x_col, freqs_name, freqs):
        """diffusers get_timestep_embedding with flip_sin_to_cos=True: [cos(x f), sin(x f)]."""
        arg = self.op("Mul", [x_col, self.weight(freqs_name, freqs)])
        return self.op("Concat", [self.op("Cos", [arg]), self.op("Sin", [arg])], axis=-1)

    def model(self, producer_doc):
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="imagebench-tiny-models", producer_version="1")
        model.doc_string = producer_doc
        onnx.checker.check_model(model)
        return model


def timestep_frequencies(half):
    """exp(-ln(10000) * i / half), i = 0..half-1 (diffusers get_timestep_embedding, shift 0)."""
    return np.exp(-np.log(10000.0) * np.arange(half, dtype=np.float64) / half).astype(np.float32)


class Weights:
    """Seeded per (family, component) so a variant shares its base family's weights."""

    def __init__(self, family, component):
        self.rng = np.random.default_rng(zlib.crc32(("%s/%s" % (family, component)).encode()))

    def normal(self, shape, std):
        return (self.rng.standard_normal(shape) * std).astype(np.float32)

    def dense(self, fan_in, fan_out, gain=1.0):
        return self.normal((fan_in, fan_out), gain / np.sqrt(fan_in))

    def conv(self, c_out, c_in, gain=1.0):
        return self.normal((c_out, c_in, 1, 1), gain / np.sqrt(c_in))


# ---------------------------------------------------------------------------
# Components
# ---------------------------------------------------------------------------

def build_text_encoder(family, component, spec, fp16):
    """CLIPTextModel(WithProjection)-shaped encoder.

    h0 = E[ids] @ P_tok + pos[:seq_len]               (E: [49408, 4], the whole CLIP vocabulary)
    h_k = h_{k-1} + tanh((h_{k-1} + mean_seq(h_{k-1})) @ W_k + b_k),  k = 1..layers
    hidden_states.k = h_k @ P_out                     (real width, no final norm - SDXL reads these)
    last_hidden_state = layer_norm(h_L @ P_out)       (final LayerNorm, eps 1e-5)
    pooler_output = mean_seq(last_hidden_state)       (CLIPTextModel only)
    text_embeds = mean_seq(h_L) @ P_text              (CLIPTextModelWithProjection only, [B,1280])
    """
    w = Weights(family, component)
    width = spec["hidden_size"]
    layers = spec["graph_layers"]
    g = Graph("%s_%s" % (family, component), fp16)
    batch_seq = ["batch_size", "sequence_length"]
    ids = g.raw_input("input_ids", I32 if spec["ids_int32"] else I64, batch_seq)

    tok = g.op("Gather", [g.weight("embeddings.token_embedding.weight", w.normal((VOCAB_SIZE, TOKEN_EMBED_DIM), 1.0)), ids], axis=0)
    h = g.linear(tok, "embeddings.token_projection", w.dense(TOKEN_EMBED_DIM, TEXT_WIDTH))
    # Like CLIP's position_ids[:, :seq_len]: keeps the sequence dim symbolic, as in real exports.
    seq_len = g.op("Shape", [ids], start=1, end=2)
    positions = g.op("Slice", [g.weight("embeddings.position_embedding.weight", w.normal((SEQ_LEN, TEXT_WIDTH), 0.5)),
                               g.int64_const("position_start", [0]), seq_len, g.int64_const("position_axis", [0])])
    h = g.op("Add", [h, positions])
    states = [h]
    for k in range(layers):
        ctx = g.op("ReduceMean", [h], axes=[1], keepdims=1)
        mixed = g.op("Add", [h, ctx])
        update = g.op("Tanh", [g.linear(mixed, "encoder.layers.%d" % k, w.dense(TEXT_WIDTH, TEXT_WIDTH), w.normal((TEXT_WIDTH,), 0.1))])
        h = g.op("Add", [h, update])
        states.append(h)

    out_proj = g.weight("hidden_states_projection.weight", w.dense(TEXT_WIDTH, width, gain=0.5))
    projected_last = g.op("MatMul", [h, out_proj])
    mean = g.op("ReduceMean", [projected_last], axes=[-1], keepdims=1)
    centred = g.op("Sub", [projected_last, mean])
    var = g.op("ReduceMean", [g.op("Mul", [centred, centred])], axes=[-1], keepdims=1)
    eps = g.float32_const("final_layer_norm.epsilon", [1e-5])
    normed = g.op("Div", [centred, g.op("Sqrt", [g.op("Add", [var, eps])])])
    last = g.op("Add", [g.op("Mul", [normed, g.weight("final_layer_norm.weight", 1.0 + w.normal((width,), 0.1))]),
                        g.weight("final_layer_norm.bias", w.normal((width,), 0.1))])

    seq_dims = ["batch_size", "sequence_length", width]
    # Output order is Optimum's: enc1 last_hidden_state, pooler_output, hidden_states.*;
    # enc2 text_embeds, last_hidden_state, hidden_states.*
    if spec["with_projection"]:
        pooled_h = g.op("ReduceMean", [h], axes=[1], keepdims=0)
        text_embeds = g.linear(pooled_h, "text_projection", w.dense(TEXT_WIDTH, SDXL_POOLED_DIM, gain=0.5))
        g.float_output("text_embeds", text_embeds, ["batch_size", SDXL_POOLED_DIM])
        g.float_output("last_hidden_state", last, seq_dims)
    else:
        g.float_output("last_hidden_state", last, seq_dims)
        g.float_output("pooler_output", g.op("ReduceMean", [last], axes=[1], keepdims=0), ["batch_size", width])
    if spec["hidden_states_outputs"]:
        for k, state in enumerate(states):
            g.float_output("hidden_states.%d" % k, g.op("MatMul", [state, out_proj]), seq_dims)
    return g.model("Tiny random-weight stand-in for a CLIP text encoder export (%s/%s)." % (family, component))


def build_unet(family, spec, fp16, timestep_kind, width=UNET_WIDTH, blocks=1):
    """UNet2DConditionModel-shaped denoiser (epsilon prediction, residual on the sample).

    temb = linear_2(silu(linear_1(proj(t) [+ timestep_cond @ cond_proj])))   proj = [cos, sin] of t*freqs
    SDXL: temb += add_2(silu(add_1([text_embeds, proj(time_ids) flattened])))
    h = conv_in(sample)
    per block: h += conv(silu(h + temb)); h += attention(h -> encoder_hidden_states) (softmax, 1/sqrt(d))
    out_sample = sample + conv_out(silu(h))
    """
    w = Weights(family, "unet")
    cross = spec["cross_attention_dim"]
    g = Graph("%s_unet" % family, fp16)
    sample = g.float_input("sample", ["batch_size", LATENT_CHANNELS, "height", "width"])
    if timestep_kind == "scalar":
        t = g.float_input("timestep", [])
    elif timestep_kind == "float_rank1":
        t = g.float_input("timestep", ["steps"])
    elif timestep_kind == "int64_rank1":
        t = g.op("Cast", [g.raw_input("timestep", I64, ["steps"])], to=F32)
    else:
        raise ValueError(timestep_kind)
    ehs = g.float_input("encoder_hidden_states", ["batch_size", "sequence_length", cross])
    # Input order follows Optimum's UNetOnnxConfig: text_embeds/time_ids, then timestep_cond.
    if spec["sdxl"]:
        text_embeds = g.float_input("text_embeds", ["batch_size", SDXL_POOLED_DIM])
        time_ids = g.float_input("time_ids", ["batch_size", SDXL_TIME_IDS])
    if spec["time_cond_proj_dim"]:
        timestep_cond = g.float_input("timestep_cond", ["batch_size", LCM_TIME_COND_DIM])

    t_col = g.op("Reshape", [t, g.int64_const("shape_col", [-1, 1])])  # [] or [B] -> [1,1] or [B,1]
    t_proj = g.sinusoidal(t_col, "time_proj.freqs", timestep_frequencies(TIME_PROJ_DIM // 2))
    if spec["time_cond_proj_dim"]:
        t_proj = g.op("Add", [t_proj, g.linear(timestep_cond, "time_embedding.cond_proj", w.dense(LCM_TIME_COND_DIM, TIME_PROJ_DIM))])
    temb = g.linear(t_proj, "time_embedding.linear_1", w.dense(TIME_PROJ_DIM, width), w.normal((width,), 0.1))
    temb = g.linear(g.silu(temb), "time_embedding.linear_2", w.dense(width, width), w.normal((width,), 0.1))
    if spec["sdxl"]:
        ids_col = g.op("Reshape", [time_ids, g.int64_const("shape_col_ids", [-1, 1])])
        ids_proj = g.sinusoidal(ids_col, "add_time_proj.freqs", timestep_frequencies(SDXL_ADD_TIME_EMBED_DIM // 2))
        ids_flat = g.op("Reshape", [ids_proj, g.int64_const("shape_time_embeds", [-1, SDXL_TIME_IDS * SDXL_ADD_TIME_EMBED_DIM])])
        add_in = g.op("Concat", [text_embeds, ids_flat], axis=-1)
        add_dim = SDXL_POOLED_DIM + SDXL_TIME_IDS * SDXL_ADD_TIME_EMBED_DIM
        aug = g.linear(add_in, "add_embedding.linear_1", w.dense(add_dim, width), w.normal((width,), 0.1))
        aug = g.linear(g.silu(aug), "add_embedding.linear_2", w.dense(width, width), w.normal((width,), 0.1))
        temb = g.op("Add", [temb, aug])
    temb4 = g.op("Unsqueeze", [temb, g.int64_const("axes_spatial", [2, 3])])

    h = g.conv1x1(sample, "conv_in", w.conv(width, LATENT_CHANNELS), w.normal((width,), 0.1))
    scale = g.float32_const("attention_scale", [1.0 / np.sqrt(width)])
    flat_shape = g.int64_const("shape_flatten_spatial", [0, 0, -1])
    for k in range(blocks):
        p = "blocks.%d" % k
        r = g.silu(g.op("Add", [h, temb4]))
        h = g.op("Add", [h, g.conv1x1(r, p + ".conv", w.conv(width, width), w.normal((width,), 0.1))])
        tokens = g.op("Transpose", [g.op("Reshape", [h, flat_shape])], perm=[0, 2, 1])  # [B, hw, d]
        q = g.linear(tokens, p + ".attn.to_q", w.dense(width, width))
        key = g.linear(ehs, p + ".attn.to_k", w.dense(cross, width))
        val = g.linear(ehs, p + ".attn.to_v", w.dense(cross, width))
        scores = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [key], perm=[0, 2, 1])]), scale])
        attended = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), val])
        tokens = g.op("Add", [tokens, g.linear(attended, p + ".attn.to_out", w.dense(width, width), w.normal((width,), 0.1))])
        h = g.op("Reshape", [g.op("Transpose", [tokens], perm=[0, 2, 1]), g.op("Shape", [h])])
    eps = g.conv1x1(g.silu(h), "conv_out", w.conv(LATENT_CHANNELS, width, gain=0.03), w.normal((LATENT_CHANNELS,), 0.01))
    g.float_output("out_sample", g.op("Add", [sample, eps]), ["batch_size", LATENT_CHANNELS, "height", "width"])
    return g.model("Tiny random-weight stand-in for a UNet2DConditionModel export (%s)." % family)


def vae_trunk(g, w, x, c_in):
    """Shared by encoder and decoder: 1x1 conv to the hidden width, plus a whole-image term
    (mean over space) standing in for the mid-block attention."""
    h = g.op("Tanh", [g.conv1x1(x, "conv_in", w.conv(VAE_WIDTH, c_in, gain=0.4), w.normal((VAE_WIDTH,), 0.1))])
    ctx = g.op("ReduceMean", [h], axes=[2, 3], keepdims=1)
    return g.op("Add", [h, g.op("Tanh", [g.conv1x1(ctx, "mid", w.conv(VAE_WIDTH, VAE_WIDTH), w.normal((VAE_WIDTH,), 0.1))])])


def build_vae_decoder(family, fp16):
    """latent_sample [B,4,h,w] -> sample [B,3,8h,8w] in (-1, 1).

    h = trunk(post_quant_conv(z)); rgb = DepthToSpace(conv_out(h), 8, DCR) + Resize_nearest(to_rgb(h), x8)
    sample = tanh(rgb)
    """
    w = Weights(family, "vae_decoder")
    g = Graph("%s_vae_decoder" % family, fp16)
    z = g.float_input("latent_sample", ["batch_size", LATENT_CHANNELS, "height_latent", "width_latent"])
    z = g.conv1x1(z, "post_quant_conv", w.conv(LATENT_CHANNELS, LATENT_CHANNELS), w.normal((LATENT_CHANNELS,), 0.1))
    h = vae_trunk(g, w, z, LATENT_CHANNELS)
    detail = g.conv1x1(h, "conv_out", w.conv(3 * VAE_SCALE * VAE_SCALE, VAE_WIDTH, gain=0.5), w.normal((3 * VAE_SCALE * VAE_SCALE,), 0.1))
    detail = g.op("DepthToSpace", [detail], blocksize=VAE_SCALE, mode="DCR")
    base = g.conv1x1(h, "to_rgb", w.conv(3, VAE_WIDTH), w.normal((3,), 0.1))
    scales = g.float32_const("upsample_scales", [1, 1, VAE_SCALE, VAE_SCALE])
    base = g.op("Resize", [base, "", scales], mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    g.float_output("sample", g.op("Tanh", [g.op("Add", [detail, base])]), ["batch_size", 3, "height", "width"])
    return g.model("Tiny random-weight stand-in for an AutoencoderKL decoder export (%s)." % family)


def build_vae_encoder(family, fp16, output):
    """sample [B,3,H,W] -> latent_parameters [B,8,H/8,W/8] (mean 4 + logvar 4, Optimum >= 1.23)
    or latent_sample [B,4,H/8,W/8] (older exports; a real one samples inside the graph - this
    stand-in returns the mean so tests stay deterministic).

    moments = quant_conv(trunk(SpaceToDepth(sample, 8)))
    """
    w = Weights(family, "vae_encoder")
    g = Graph("%s_vae_encoder" % family, fp16)
    x = g.float_input("sample", ["batch_size", 3, "height", "width"])
    s = g.op("SpaceToDepth", [x], blocksize=VAE_SCALE)
    h = vae_trunk(g, w, s, 3 * VAE_SCALE * VAE_SCALE)
    logvar_bias = np.concatenate([w.normal((LATENT_CHANNELS,), 0.1), np.full(LATENT_CHANNELS, -6.0, np.float32)])
    moments = g.conv1x1(h, "quant_conv", w.conv(2 * LATENT_CHANNELS, VAE_WIDTH, gain=2.0), logvar_bias)
    if output == "latent_parameters":
        g.float_output("latent_parameters", moments, ["batch_size", 2 * LATENT_CHANNELS, "height_latent", "width_latent"])
    else:
        mean = g.op("Slice", [moments, g.int64_const("slice_start", [0]), g.int64_const("slice_end", [LATENT_CHANNELS]),
                              g.int64_const("slice_axes", [1])])
        g.float_output("latent_sample", mean, ["batch_size", LATENT_CHANNELS, "height_latent", "width_latent"])
    return g.model("Tiny random-weight stand-in for an AutoencoderKL encoder export (%s)." % family)


# ---------------------------------------------------------------------------
# Configs (keys and values copied from the real repos, reference section 1)
# ---------------------------------------------------------------------------

SCHEDULERS = {
    "sd15": {  # runwayml/stable-diffusion-v1-5: no timestep_spacing, no prediction_type
        "_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0",
        "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
        "clip_sample": False, "num_train_timesteps": 1000, "set_alpha_to_one": False,
        "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None,
    },
    "lcm": {  # SimianLuo/LCM_Dreamshaper_v7
        "_class_name": "LCMScheduler", "_diffusers_version": "0.22.0.dev0",
        "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
        "clip_sample": False, "clip_sample_range": 1.0, "dynamic_thresholding_ratio": 0.995,
        "num_train_timesteps": 1000, "original_inference_steps": 50, "prediction_type": "epsilon",
        "rescale_betas_zero_snr": False, "sample_max_value": 1.0, "set_alpha_to_one": True,
        "steps_offset": 0, "thresholding": False, "timestep_scaling": 10.0,
        "timestep_spacing": "leading", "trained_betas": None,
    },
    "sd-turbo": {  # stabilityai/sd-turbo
        "_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.24.0.dev0",
        "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
        "clip_sample": False, "interpolation_type": "linear", "num_train_timesteps": 1000,
        "prediction_type": "epsilon", "set_alpha_to_one": False, "sigma_max": None, "sigma_min": None,
        "skip_prk_steps": True, "steps_offset": 1, "timestep_spacing": "trailing",
        "timestep_type": "discrete", "trained_betas": None, "use_karras_sigmas": False,
    },
    "sdxl": {  # stabilityai/stable-diffusion-xl-base-1.0
        "_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.19.0.dev0",
        "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
        "clip_sample": False, "interpolation_type": "linear", "num_train_timesteps": 1000,
        "prediction_type": "epsilon", "sample_max_value": 1.0, "set_alpha_to_one": False,
        "skip_prk_steps": True, "steps_offset": 1, "timestep_spacing": "leading",
        "trained_betas": None, "use_karras_sigmas": False,
    },
    "sdxl-turbo": {  # stabilityai/sdxl-turbo
        "_class_name": "EulerAncestralDiscreteScheduler", "_diffusers_version": "0.24.0.dev0",
        "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
        "num_train_timesteps": 1000, "prediction_type": "epsilon", "steps_offset": 1,
        "timestep_spacing": "trailing", "trained_betas": None,
    },
}

SD15_BLOCKS = {
    "block_out_channels": [320, 640, 1280, 1280],
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
}
SDXL_BLOCKS = {
    "block_out_channels": [320, 640, 1280],
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "transformer_layers_per_block": [1, 2, 10],
}

CLIP_L = {  # openai/clip-vit-large-patch14 text tower (SD 1.x, LCM, SDXL encoder 1)
    "architectures": ["CLIPTextModel"], "hidden_act": "quick_gelu", "hidden_size": 768,
    "intermediate_size": 3072, "num_attention_heads": 12, "num_hidden_layers": 12, "projection_dim": 768,
}
OPENCLIP_H = {  # SD 2.x / SD-Turbo: OpenCLIP ViT-H text tower, penultimate layer kept (23 layers)
    "architectures": ["CLIPTextModel"], "hidden_act": "gelu", "hidden_size": 1024,
    "intermediate_size": 4096, "num_attention_heads": 16, "num_hidden_layers": 23, "projection_dim": 512,
}
OPENCLIP_BIGG = {  # SDXL encoder 2: OpenCLIP ViT-bigG with projection
    "architectures": ["CLIPTextModelWithProjection"], "hidden_act": "gelu", "hidden_size": 1280,
    "intermediate_size": 5120, "num_attention_heads": 20, "num_hidden_layers": 32, "projection_dim": 1280,
}

FAMILIES = {
    "sd15": {
        "pipeline": "StableDiffusionPipeline", "scheduler": "sd15", "source": "runwayml/stable-diffusion-v1-5",
        "encoders": [("text_encoder", "tokenizer", CLIP_L, "<|endoftext|>")],
        "unet": dict(SD15_BLOCKS, attention_head_dim=8, cross_attention_dim=768, sample_size=64),
        "vae": {"sample_size": 512, "scaling_factor": None},  # the original SD 1.5 VAE config omits it
    },
    "lcm": {
        "pipeline": "LatentConsistencyModelPipeline", "scheduler": "lcm", "source": "SimianLuo/LCM_Dreamshaper_v7",
        "encoders": [("text_encoder", "tokenizer", CLIP_L, "<|endoftext|>")],
        "unet": dict(SD15_BLOCKS, attention_head_dim=8, cross_attention_dim=768, sample_size=96, time_cond_proj_dim=256),
        "vae": {"sample_size": 768, "scaling_factor": 0.18215},
    },
    "sd-turbo": {
        "pipeline": "StableDiffusionPipeline", "scheduler": "sd-turbo", "source": "stabilityai/sd-turbo",
        "encoders": [("text_encoder", "tokenizer", OPENCLIP_H, "!")],
        "unet": dict(SD15_BLOCKS, attention_head_dim=[5, 10, 20, 20], cross_attention_dim=1024, sample_size=64,
                     use_linear_projection=True),
        "vae": {"sample_size": 768, "scaling_factor": 0.18215},
    },
    "sdxl": {
        "pipeline": "StableDiffusionXLPipeline", "scheduler": "sdxl", "source": "stabilityai/stable-diffusion-xl-base-1.0",
        "encoders": [("text_encoder", "tokenizer", CLIP_L, "<|endoftext|>"),
                     ("text_encoder_2", "tokenizer_2", OPENCLIP_BIGG, "!")],
        "unet": dict(SDXL_BLOCKS, addition_embed_type="text_time", addition_time_embed_dim=256,
                     attention_head_dim=[5, 10, 20], cross_attention_dim=2048,
                     projection_class_embeddings_input_dim=2816, sample_size=128, use_linear_projection=True),
        "vae": {"sample_size": 1024, "scaling_factor": 0.13025, "force_upcast": True},
    },
    "sdxl-turbo": {
        "pipeline": "StableDiffusionXLPipeline", "scheduler": "sdxl-turbo", "source": "stabilityai/sdxl-turbo",
        "encoders": [("text_encoder", "tokenizer", CLIP_L, "<|endoftext|>"),
                     ("text_encoder_2", "tokenizer_2", OPENCLIP_BIGG, "!")],
        "unet": dict(SDXL_BLOCKS, addition_embed_type="text_time", addition_time_embed_dim=256,
                     attention_head_dim=[5, 10, 20], cross_attention_dim=2048,
                     projection_class_embeddings_input_dim=2816, sample_size=64, use_linear_projection=True),
        "vae": {"sample_size": 1024, "scaling_factor": 0.13025, "force_upcast": True},
    },
}

# Variant folder -> (base family, export options)
BASE_EXPORT = {"fp16": False, "ids_int32": False, "timestep": "scalar", "vae_encoder_output": "latent_parameters",
               "external_data": False, "pipeline_class": None}
FOLDERS = {
    "sd15": ("sd15", {}),
    "lcm": ("lcm", {}),
    "sd-turbo": ("sd-turbo", {}),
    "sdxl": ("sdxl", {}),
    "sdxl-turbo": ("sdxl-turbo", {}),
    "sd-turbo-fp16": ("sd-turbo", {"fp16": True}),
    "sd15-int32-ids": ("sd15", {"ids_int32": True, "timestep": "int64_rank1", "vae_encoder_output": "latent_sample",
                                "pipeline_class": "ORTStableDiffusionPipeline"}),
    "sd-turbo-rank1-timestep": ("sd-turbo", {"timestep": "float_rank1"}),
    "sd-turbo-external-data": ("sd-turbo", {"external_data": True}),
}
MEDIUM_FOLDER = "sd-turbo-medium"
CORRUPT_FOLDER = "corrupt"


def model_index(fam, export):
    index = {
        "_class_name": export["pipeline_class"] or fam["pipeline"],
        "_diffusers_version": "0.31.0",
        "feature_extractor": [None, None],
        "image_encoder": [None, None],
        "requires_safety_checker": False,
        "safety_checker": [None, None],
        "scheduler": ["diffusers", SCHEDULERS[fam["scheduler"]]["_class_name"]],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }
    for enc_dir, tok_dir, clip, _pad in fam["encoders"]:
        index[enc_dir] = ["transformers", clip["architectures"][0]]
        index[tok_dir] = ["transformers", "CLIPTokenizer"]
    if len(fam["encoders"]) == 2:
        index["force_zeros_for_empty_prompt"] = True
    return index


def unet_config(fam):
    base = {
        "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.31.0",
        "act_fn": "silu", "addition_embed_type": None, "addition_time_embed_dim": None,
        "center_input_sample": False, "class_embed_type": None, "flip_sin_to_cos": True, "freq_shift": 0,
        "in_channels": LATENT_CHANNELS, "layers_per_block": 2, "norm_eps": 1e-05, "norm_num_groups": 32,
        "out_channels": LATENT_CHANNELS, "projection_class_embeddings_input_dim": None,
        "time_cond_proj_dim": None, "use_linear_projection": False,
    }
    base.update(fam["unet"])
    return base


def vae_config(fam):
    cfg = {
        "_class_name": "AutoencoderKL", "_diffusers_version": "0.31.0", "act_fn": "silu",
        "block_out_channels": [128, 256, 512, 512], "down_block_types": ["DownEncoderBlock2D"] * 4,
        "in_channels": 3, "latent_channels": LATENT_CHANNELS, "layers_per_block": 2, "norm_num_groups": 32,
        "out_channels": 3, "sample_size": fam["vae"]["sample_size"], "up_block_types": ["UpDecoderBlock2D"] * 4,
    }
    if fam["vae"]["scaling_factor"] is not None:
        cfg["scaling_factor"] = fam["vae"]["scaling_factor"]
    if fam["vae"].get("force_upcast"):
        cfg["force_upcast"] = True
    return cfg


def text_encoder_config(clip, fp16):
    cfg = {
        "attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0, "eos_token_id": 2,
        "initializer_factor": 1.0, "initializer_range": 0.02, "layer_norm_eps": 1e-05,
        "max_position_embeddings": SEQ_LEN, "model_type": "clip_text_model", "pad_token_id": 1,
        "torch_dtype": "float16" if fp16 else "float32", "transformers_version": "4.46.3", "vocab_size": VOCAB_SIZE,
    }
    cfg.update(clip)
    return cfg


def tokenizer_files(pad_token):
    """What CLIPTokenizer.save_pretrained writes next to vocab.json/merges.txt. The pad token is
    the only difference between encoders: <|endoftext|> (49407) for OpenAI CLIP, "!" (0) for
    OpenCLIP-trained encoders."""
    def added(content):
        return {"content": content, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    special = {
        "bos_token": added("<|startoftext|>"),
        "eos_token": added("<|endoftext|>"),
        "pad_token": pad_token if pad_token == "!" else added(pad_token),
        "unk_token": added("<|endoftext|>"),
    }
    config = {
        "add_prefix_space": False,
        "added_tokens_decoder": {
            "49406": dict(added("<|startoftext|>"), special=True),
            "49407": dict(added("<|endoftext|>"), special=True),
        },
        "bos_token": "<|startoftext|>",
        "clean_up_tokenization_spaces": True,
        "do_lower_case": True,
        "eos_token": "<|endoftext|>",
        "errors": "replace",
        "model_max_length": SEQ_LEN,
        "pad_token": pad_token,
        "tokenizer_class": "CLIPTokenizer",
        "unk_token": "<|endoftext|>",
    }
    if pad_token == "!":
        config["added_tokens_decoder"]["0"] = dict(added("!"), special=True)
    return special, config


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

def write_json(path, obj):
    with open(path, "w") as fh:
        json.dump(obj, fh, indent=2, sort_keys=True)
        fh.write("\n")


def save_model(model, folder, external_data=False):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    if external_data:
        # Optimum's layout for >2 GB components: graph in model.onnx, the weights in one
        # model.onnx_data next to it. Small tensors (shape constants) stay inline as with onnx's
        # default threshold - ORT's shape inference cannot read external shape constants.
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location="model.onnx_data", size_threshold=1024)
    else:
        onnx.save_model(model, path)


def write_folder(outdir, folder_name, family, overrides, tokenizer_dir, medium=False):
    fam = FAMILIES[family]
    export = dict(BASE_EXPORT, **overrides)
    root = os.path.join(outdir, folder_name)
    if os.path.exists(root):
        shutil.rmtree(root)
    os.makedirs(root)
    fp16 = export["fp16"]
    unet_cfg = unet_config(fam)
    unet_cfg["_imagebench_tiny_model"] = "random weights for tests; config keys mirror %s" % fam["source"]

    write_json(os.path.join(root, "model_index.json"), model_index(fam, export))
    os.makedirs(os.path.join(root, "scheduler"))
    write_json(os.path.join(root, "scheduler", "scheduler_config.json"), SCHEDULERS[fam["scheduler"]])

    sdxl = len(fam["encoders"]) == 2
    for enc_dir, tok_dir, clip, pad in fam["encoders"]:
        tok_root = os.path.join(root, tok_dir)
        os.makedirs(tok_root)
        for name in ("vocab.json", "merges.txt"):
            shutil.copyfile(os.path.join(tokenizer_dir, name), os.path.join(tok_root, name))
        special, tok_config = tokenizer_files(pad)
        write_json(os.path.join(tok_root, "special_tokens_map.json"), special)
        write_json(os.path.join(tok_root, "tokenizer_config.json"), tok_config)

        spec = {
            "hidden_size": clip["hidden_size"],
            # Layer count is only visible through hidden_states.* (SDXL exports), so keep it real there.
            "graph_layers": clip["num_hidden_layers"] if sdxl else 2,
            "hidden_states_outputs": sdxl,
            "with_projection": clip["architectures"][0] == "CLIPTextModelWithProjection",
            "ids_int32": export["ids_int32"],
        }
        save_model(build_text_encoder(family, enc_dir, spec, fp16), os.path.join(root, enc_dir))
        write_json(os.path.join(root, enc_dir, "config.json"), text_encoder_config(clip, fp16))

    unet_spec = {
        "cross_attention_dim": unet_cfg["cross_attention_dim"],
        "sdxl": unet_cfg["addition_embed_type"] == "text_time",
        "time_cond_proj_dim": unet_cfg["time_cond_proj_dim"],
    }
    width, blocks = (MEDIUM_UNET_WIDTH, MEDIUM_UNET_BLOCKS) if medium else (UNET_WIDTH, 1)
    unet = build_unet(family, unet_spec, fp16, export["timestep"], width=width, blocks=blocks)
    save_model(unet, os.path.join(root, "unet"), external_data=export["external_data"])
    write_json(os.path.join(root, "unet", "config.json"), unet_cfg)

    save_model(build_vae_decoder(family, fp16), os.path.join(root, "vae_decoder"))
    write_json(os.path.join(root, "vae_decoder", "config.json"), vae_config(fam))
    save_model(build_vae_encoder(family, fp16, export["vae_encoder_output"]), os.path.join(root, "vae_encoder"))
    write_json(os.path.join(root, "vae_encoder", "config.json"), vae_config(fam))
    return root


def write_corrupt(outdir, tokenizer_dir):
    root = write_folder(outdir, CORRUPT_FOLDER, "sd-turbo", {}, tokenizer_dir)
    unet_path = os.path.join(root, "unet", "model.onnx")
    with open(unet_path, "rb") as fh:
        data = fh.read()
    # A download cut short: the protobuf header is intact, the weights end mid-tensor.
    with open(unet_path, "wb") as fh:
        fh.write(data[: len(data) // 2])


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir")
    parser.add_argument("--medium", action="store_true",
                        help="write only %s, an sd-turbo folder whose UNet is heavy enough for benchmarks" % MEDIUM_FOLDER)
    parser.add_argument("--tokenizer-dir", default=os.environ.get("IMAGEBENCH_CLIP_TOKENIZER_DIR", DEFAULT_TOKENIZER_DIR),
                        help="folder with the real CLIP vocab.json and merges.txt (default: %(default)s)")
    args = parser.parse_args(argv)

    for name in ("vocab.json", "merges.txt"):
        if not os.path.isfile(os.path.join(args.tokenizer_dir, name)):
            sys.exit("make_tiny_models: %s not found in %s; pass --tokenizer-dir with the CLIP tokenizer files"
                     % (name, args.tokenizer_dir))
    os.makedirs(args.outdir, exist_ok=True)
    if args.medium:
        write_folder(args.outdir, MEDIUM_FOLDER, "sd-turbo", {}, args.tokenizer_dir, medium=True)
        return
    for folder, (family, overrides) in FOLDERS.items():
        write_folder(args.outdir, folder, family, overrides, args.tokenizer_dir)
    write_corrupt(args.outdir, args.tokenizer_dir)


if __name__ == "__main__":
    main(sys.argv[1:])
