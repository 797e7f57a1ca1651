"""Tests for make_tiny_models.py and reference_pipeline.py.

Run from the repository root:  /usr/bin/python3 -B -m unittest discover -s native-models/tools
(or, in native-models/tools:     /usr/bin/python3 -B -m unittest)

The cross-check against ONNX Runtime itself lives in test/unit/native-models/tiny-models.test.ts;
these tests pin the reference's scheduler math to the shared spec vectors and its loops to the
properties diffusers guarantees.
"""

import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import make_tiny_models  # noqa: E402
import reference_pipeline as ref  # noqa: E402

VECTORS = os.environ.get("IMAGEBENCH_SCHEDULER_VECTORS",
                         os.path.join(os.path.dirname(make_tiny_models.REPO_ROOT), "shared", "data", "scheduler-vectors.json"))
PROMPT_IDS = [49406, 320, 1125, 539, 320, 2368, 49407]  # "a photo of a cat"


def padded(ids, pad):
    return ids + [pad] * (77 - len(ids))


def tree_digest(root):
    digest = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            digest.update(os.path.relpath(path, root).encode())
            with open(path, "rb") as fh:
                digest.update(fh.read())
    return digest.hexdigest()


class Models:
    """Generates the tiny folders once for the whole module."""
    root = None
    tmp = None

    @classmethod
    def get(cls):
        if cls.root is None:
            cls.tmp = tempfile.TemporaryDirectory()
            cls.root = cls.tmp.name
            make_tiny_models.main([cls.root])
        return cls.root


def run_reference(request):
    out = subprocess.run([sys.executable, "-B", os.path.join(HERE, "reference_pipeline.py")],
                         input=json.dumps(request), capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError("reference_pipeline.py failed:\n" + out.stderr)
    return json.loads(out.stdout)


def pipeline_request(folder, scheduler, steps, pad, size=64, seed=0, pad2=None, **extra):
    n = 4 * (size // 8) ** 2
    draws = 1 + {"euler": 0, "euler_ancestral": steps, "lcm": steps - 1}[scheduler]
    req = {
        "model_dir": os.path.join(Models.get(), folder),
        "input_ids": [padded(PROMPT_IDS, pad)],
        "noise": np.random.default_rng(seed).standard_normal(n * draws).astype(np.float32).tolist(),
        "height": size, "width": size, "steps": steps, "scheduler": scheduler,
    }
    if pad2 is not None:
        req["input_ids_2"] = [padded(PROMPT_IDS, pad2)]
    req.update(extra)
    return req


@unittest.skipUnless(os.path.isfile(VECTORS), "scheduler-vectors.json not found (set IMAGEBENCH_SCHEDULER_VECTORS)")
class SchedulerMatchesSpecVectors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(VECTORS) as fh:
            cls.v = json.load(fh)

    def test_euler_trailing_timesteps_sigmas_and_init_sigma(self):
        for case in self.v["euler_discrete_trailing"]["cases"]:
            ts, sig, init = ref.euler_schedule(case["num_inference_steps"], {"timestep_spacing": "trailing", "steps_offset": 1})
            self.assertEqual([float(t) for t in ts], case["timesteps"])
            np.testing.assert_allclose(sig, case["sigmas"], rtol=1e-12)
            self.assertAlmostEqual(init, case["init_noise_sigma"], places=12)

    def test_other_spacings(self):
        for case in self.v["euler_discrete_other_spacings"]["cases"]:
            cfg = {"timestep_spacing": case["timestep_spacing"], "steps_offset": case["steps_offset"]}
            ts, sig, init = ref.euler_schedule(case["num_inference_steps"], cfg)
            np.testing.assert_allclose(ts, case["timesteps"], rtol=0, atol=0)
            np.testing.assert_allclose(sig, case["sigmas"], rtol=1e-12)
            self.assertAlmostEqual(init, case["init_noise_sigma"], places=12)

    def test_lcm_timesteps_and_guidance_embedding(self):
        for case in self.v["lcm"]["cases"]:
            self.assertEqual([int(t) for t in ref.lcm_timesteps(case["num_inference_steps"], {})], case["timesteps"])
        emb = self.v["lcm_guidance_embedding"]
        np.testing.assert_allclose(ref.lcm_guidance_embedding(emb["guidance_scale"], emb["dim"]), emb["float64"], rtol=0, atol=1e-12)

    def test_full_loops_with_the_fake_unet(self):
        loops = self.v["full_loop_examples"]
        z = np.asarray(loops["initial_noise"], dtype=np.float64)
        draws = [np.asarray(d, dtype=np.float64) for d in loops["per_step_noise"]]

        def fake_unet(x_in, t):
            return 0.5 * np.asarray(x_in, dtype=np.float64) + float(t) / 1000.0

        def keep(x):
            return np.asarray(x, dtype=np.float64)

        cfg = {"timestep_spacing": "trailing", "steps_offset": 1}
        x, _ = ref.euler_loop(fake_unet, z, iter(draws), 4, cfg, ancestral=False, store=keep)
        np.testing.assert_allclose(x, loops["euler_trailing_4"]["final_latent"], rtol=1e-12)
        x, _ = ref.euler_loop(fake_unet, z, iter(draws), 4, cfg, ancestral=True, store=keep)
        np.testing.assert_allclose(x, loops["euler_ancestral_trailing_4"]["final_latent"], rtol=1e-12)
        x, _ = ref.lcm_loop(fake_unet, z, iter(draws), 4, {}, store=keep)
        np.testing.assert_allclose(x, loops["lcm_4"]["final_latent"], rtol=1e-12)


class GeneratorIsDeterministic(unittest.TestCase):
    def test_two_runs_write_identical_bytes(self):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            make_tiny_models.main([a])
            make_tiny_models.main([b])
            self.assertEqual(tree_digest(a), tree_digest(b))
            self.assertEqual(tree_digest(a), tree_digest(Models.get()))


class ReferencePipeline(unittest.TestCase):
    def test_one_step_sd_turbo_image_is_the_decoded_x0(self):
        req = pipeline_request("sd-turbo", "euler", 1, pad=0)
        out = run_reference(req)
        self.assertEqual(out["timesteps"], [999.0])
        self.assertEqual(out["image_shape"], [1, 64, 64, 3])
        image = np.asarray(out["image"])
        self.assertTrue(np.all((image >= 0) & (image <= 1)))
        self.assertGreater(image.std(), 0.05)  # a real picture of noise, not a saturated block

        # With one step sigma_next = 0, so the result is x0 = x - sigma * eps (scheduler-vectors
        # "euler_1_step_trailing"); recompute it from a direct UNet call.
        root = req["model_dir"]
        _, sig, init = ref.euler_schedule(1, {"timestep_spacing": "trailing"})
        z = np.asarray(req["noise"], dtype=np.float32).reshape(1, 4, 8, 8)
        x = ref.f32(z.astype(np.float64) * init)
        cond = ref.text_encoder_forward(ref.Component(root, "text_encoder"), np.asarray(req["input_ids"]))["last_hidden_state"]
        x_in = ref.f32(x.astype(np.float64) / math.sqrt(sig[0] ** 2 + 1))
        eps = ref.unet_forward(ref.Component(root, "unet"), x_in, np.float32(999.0), cond)["out_sample"]
        x0 = ref.f32(x.astype(np.float64) - sig[0] * eps.astype(np.float64))
        np.testing.assert_allclose(np.asarray(out["latents"]).reshape(x0.shape), x0, rtol=0, atol=1e-6)

    def test_every_input_changes_the_image(self):
        base = np.asarray(run_reference(pipeline_request("sd-turbo", "euler", 2, pad=0))["image"])
        other_noise = np.asarray(run_reference(pipeline_request("sd-turbo", "euler", 2, pad=0, seed=1))["image"])
        wrong_pad = np.asarray(run_reference(pipeline_request("sd-turbo", "euler", 2, pad=49407))["image"])
        more_steps = np.asarray(run_reference(pipeline_request("sd-turbo", "euler", 3, pad=0))["image"])
        for other in (other_noise, wrong_pad, more_steps):
            self.assertGreater(np.abs(base - other).max(), 1e-3)

    def test_timestep_rank_and_id_dtype_variants_match_their_base_family(self):
        # Same weights, different tensor contract: feeding each the way its signature asks must
        # give the same numbers.
        scalar = run_reference(pipeline_request("sd-turbo", "euler", 2, pad=0))
        rank1 = run_reference(pipeline_request("sd-turbo-rank1-timestep", "euler", 2, pad=0))
        external = run_reference(pipeline_request("sd-turbo-external-data", "euler", 2, pad=0))
        self.assertEqual(scalar["image"], rank1["image"])
        self.assertEqual(scalar["image"], external["image"])
        sd15 = run_reference(pipeline_request("sd15", "euler", 2, pad=49407))
        sd15_int32 = run_reference(pipeline_request("sd15-int32-ids", "euler", 2, pad=49407))
        self.assertEqual(sd15["image"], sd15_int32["image"])

    def test_fp16_export_stays_close_to_fp32(self):
        a = np.asarray(run_reference(pipeline_request("sd-turbo", "euler", 1, pad=0))["image"])
        b = np.asarray(run_reference(pipeline_request("sd-turbo-fp16", "euler", 1, pad=0))["image"])
        self.assertLess(np.abs(a - b).max(), 0.05)
        self.assertGreater(np.abs(a - b).max(), 0.0)  # it really went through fp16

    def test_sdxl_turbo_ancestral_uses_every_draw_and_needs_them(self):
        req = pipeline_request("sdxl-turbo", "euler_ancestral", 2, pad=49407, pad2=0)
        out = run_reference(req)
        self.assertEqual(out["timesteps"], [999.0, 499.0])
        n = 4 * 8 * 8
        changed_first_step_noise = dict(req, noise=req["noise"][:n] + [v + 0.5 for v in req["noise"][n:2 * n]] + req["noise"][2 * n:])
        self.assertNotEqual(run_reference(changed_first_step_noise)["image"], out["image"])
        # The last step's draw is multiplied by sigma_up = 0: consumed but without effect.
        changed_last_draw = dict(req, noise=req["noise"][:2 * n] + [v + 0.5 for v in req["noise"][2 * n:]])
        self.assertEqual(run_reference(changed_last_draw)["image"], out["image"])
        short = dict(req, noise=req["noise"][: 2 * n])
        proc = subprocess.run([sys.executable, "-B", os.path.join(HERE, "reference_pipeline.py")], input=json.dumps(short),
                              capture_output=True, text=True)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("noise must hold 768 values", proc.stderr)

    def test_sdxl_reads_both_encoders(self):
        a = run_reference(pipeline_request("sdxl-turbo", "euler_ancestral", 1, pad=49407, pad2=0))
        b = run_reference(pipeline_request("sdxl-turbo", "euler_ancestral", 1, pad=49407, pad2=49407))
        self.assertNotEqual(a["image"], b["image"])

    def test_lcm_guidance_goes_into_timestep_cond(self):
        a = run_reference(pipeline_request("lcm", "lcm", 4, pad=49407, guidance_scale=8.5))
        b = run_reference(pipeline_request("lcm", "lcm", 4, pad=49407, guidance_scale=4.0))
        self.assertEqual(a["timesteps"], [999, 759, 499, 259])
        self.assertNotEqual(a["image"], b["image"])

    def test_component_mode_returns_requested_outputs(self):
        ids = padded(PROMPT_IDS, 49407)
        out = run_reference({"model_dir": os.path.join(Models.get(), "sdxl"), "component": "text_encoder",
                             "inputs": {"input_ids": {"dtype": "int64", "dims": [1, 77], "data": ids}},
                             "outputs": ["hidden_states.11", "pooler_output"]})
        self.assertEqual(sorted(out["outputs"]), ["hidden_states.11", "pooler_output"])
        self.assertEqual(out["outputs"]["hidden_states.11"]["dims"], [1, 77, 768])
        self.assertEqual(out["outputs"]["pooler_output"]["dims"], [1, 768])


if __name__ == "__main__":
    unittest.main()
