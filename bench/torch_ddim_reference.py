"""The PyTorch reference of bench/pipeline-error.ts: diffusers' own DDIMPipeline on the full-size
google/ddpm-cifar10-32 UNet with the deterministic weights of spec/fixtures/README.md (unet_full.json's recipe),
checked against the fixture's weights_sha256, one generator per image, float32 on the CPU. Writes the pipeline
folder (save_pretrained: model_index.json, unet/, scheduler/) and the image as raw little-endian float32 (NHWC, in
[0, 1], diffusers' output_type="np").

    python3 bench/torch_ddim_reference.py --fixture spec/fixtures/unet_full.json --out DIR --steps 50 --seed 0 --eta 0

Prints one line `TORCH_DDIM_RESULT {json}` at the end.
"""
import argparse
import json
import os
import sys
import time

import torch

# The recipe, once: the fixture generator's own (it loads the weights and returns their sha256).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "fixtures"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fixture", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eta", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from diffusers import DDIMPipeline, DDIMScheduler, UNet2DModel
    from make_unet_256_family import recipe_weights

    with open(args.fixture) as f:
        fixture = json.load(f)
    torch.set_num_threads(args.threads)
    unet = UNet2DModel(**fixture["config"]).eval()
    _, digest = recipe_weights(unet, fixture["weights_seed"])
    if digest != fixture["weights_sha256"]:
        raise SystemExit(f"recipe weights sha256 {digest} != the fixture's {fixture['weights_sha256']}")
    scheduler = DDIMScheduler.from_config(fixture["pipeline_cases"][0]["scheduler_config"])
    pipe = DDIMPipeline(unet=unet, scheduler=scheduler)
    pipe.save_pretrained(args.out)
    started = time.perf_counter()
    with torch.inference_mode():
        images = pipe(
            batch_size=1,
            generator=torch.Generator("cpu").manual_seed(args.seed),
            num_inference_steps=args.steps,
            eta=args.eta,
            output_type="np",
        ).images
    seconds = time.perf_counter() - started
    image_file = os.path.join(args.out, "image.f32")
    images.astype("<f4").tofile(image_file)
    result = {
        "torch": torch.__version__,
        "steps": args.steps,
        "seed": args.seed,
        "eta": args.eta,
        "shape": list(images.shape),
        "absSum": float(abs(images).sum()),
        "seconds": seconds,
        "image": image_file,
    }
    print("TORCH_DDIM_RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
