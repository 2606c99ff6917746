"""The PyTorch peer of bench/run.ts, timed as a user runs it: diffusers' own UNet2DModel built from the
google/ddpm-cifar10-32 config (random weights: speed does not depend on them), torch.set_num_threads(THREADS),
torch.inference_mode(), default OpenMP settings (no OMP_WAIT_POLICY). diffusers runs from its source tree
(bench/peers.ts sets the PYTHONPATH: diffusers/src, huggingface_hub/src and the pyshim).

    python3 bench/torch_unet.py --batches 1,16 --runs 3 --threads 2 [--export-onnx unet.onnx]

--export-onnx writes the same network with torch.onnx.export (opset 14, dynamic batch axis) for the
onnxruntime-node peer (bench/onnxruntime-unet.ts) and times nothing.

Prints one line `TORCH_UNET_RESULT {json}` at the end.
"""
import argparse
import json
import statistics
import time

import torch

CONFIG = {
    "act_fn": "silu",
    "attention_head_dim": None,
    "block_out_channels": [128, 256, 256, 256],
    "center_input_sample": False,
    "down_block_types": ["DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"],
    "downsample_padding": 0,
    "flip_sin_to_cos": False,
    "freq_shift": 1,
    "in_channels": 3,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-06,
    "norm_num_groups": 32,
    "out_channels": 3,
    "sample_size": 32,
    "time_embedding_type": "positional",
    "up_block_types": ["UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D"],
}


def build_unet():
    from diffusers import UNet2DModel

    torch.manual_seed(0)
    return UNet2DModel(**CONFIG).eval()


class Forward(torch.nn.Module):
    """The sample tensor of UNet2DModel(x, t): what the ONNX graph returns."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep):
        return self.unet(sample, timestep, return_dict=False)[0]


def export_onnx(path):
    unet = build_unet()
    sample = torch.randn(1, 3, 32, 32)
    timestep = torch.tensor([500], dtype=torch.int64)
    with torch.no_grad():
        torch.onnx.export(
            Forward(unet),
            (sample, timestep),
            path,
            opset_version=14,
            input_names=["sample", "timestep"],
            output_names=["out"],
            dynamic_axes={"sample": {0: "batch"}, "timestep": {0: "batch"}, "out": {0: "batch"}},
        )
    print("TORCH_UNET_RESULT " + json.dumps({"exported": path, "torch": torch.__version__}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--min-seconds", type=float, default=0)
    ap.add_argument("--max-forwards", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup-forwards", type=int, default=20)
    ap.add_argument("--warmup-seconds", type=float, default=5.0)
    ap.add_argument("--export-onnx", default=None)
    args = ap.parse_args()
    if args.export_onnx:
        export_onnx(args.export_onnx)
        return
    torch.set_num_threads(args.threads)
    import diffusers

    unet = build_unet()
    batches = []
    with torch.inference_mode():
        for batch in [int(b) for b in args.batches.split(",")]:
            x = torch.randn(batch, 3, 32, 32, generator=torch.Generator().manual_seed(7))
            t = torch.full((batch,), 500, dtype=torch.int64)
            start = time.perf_counter()
            unet(x, t)
            first = (time.perf_counter() - start) * 1000
            # The warm-up rule of bench/stats.ts: forwards until --warmup-forwards have run or --warmup-seconds
            # have passed (at least one).
            warm_start, warm = time.perf_counter(), 0
            while True:
                unet(x, t)
                warm += 1
                if warm >= args.warmup_forwards or time.perf_counter() - warm_start >= args.warmup_seconds:
                    break
            # The timed-forward rule of bench/stats.ts (timedForwards): at least --runs, and more until
            # --min-seconds of timed forwards, at most --max-forwards.
            times = []
            while len(times) < args.runs or (sum(times) < args.min_seconds * 1000 and len(times) < args.max_forwards):
                start = time.perf_counter()
                unet(x, t)
                times.append((time.perf_counter() - start) * 1000)
            med = statistics.median(times)
            batches.append({"batch": batch, "firstMs": first, "medianMs": med, "minMs": min(times), "runs": len(times), "msPerSample": med / batch})
    result = {
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "threads": torch.get_num_threads(),
        "params": sum(p.numel() for p in unet.parameters()),
        "batches": batches,
    }
    print("TORCH_UNET_RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
